// Package changes finds what changed near an onset: change events (deploys,
// config changes, feature flags — events with change.type, or named
// deploy) before it, scored by how close they came, and log templates that
// appeared or surged in the window against the baseline, mined with a
// Drain-style template miner.
package changes

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/inquest/inquest/agents/signals"
	"github.com/inquest/inquest/domain"
)

// Source is what the correlator reads.
type Source interface {
	Events(ctx context.Context, q domain.EventQuery) (*domain.EventPage, error)
	// Aggregate counts the spans of a log line's operation.
	Aggregate(ctx context.Context, q domain.Query) (*domain.AggregateResult, error)
}

// Input is the window to explain, the one it is compared with, and the
// onset. An onset of 0 is unknown (an investigation started by hand over a
// window): the window's start stands for it, and a change inside the window
// counts as if it came at the onset, since what was asked about may have
// begun with it.
type Input struct {
	Tenant           string
	Window, Baseline domain.TimeRange
	Onset            int64
}

// Lookback is how long before the onset a change is still looked at.
const Lookback = 2 * time.Hour

// Change is a change event and how strongly its timing ties it to the onset.
type Change struct {
	Event    domain.Event
	Type     string
	Strength float64
	// Lead is how long before the onset it came (negative: after).
	Lead time.Duration
	// InWindow: it came inside a window whose onset is unknown.
	InWindow bool
}

// Text describes the change for people.
func (c Change) Text() string {
	e := c.Event
	var b strings.Builder
	b.WriteString(e.Service)
	if b.Len() == 0 {
		b.WriteString("(no service)")
	}
	b.WriteString(": " + c.Type)
	if v, ok := e.Attrs.Get("version"); ok {
		b.WriteString(" " + v)
		if p, ok := e.Attrs.Get("previous_version"); ok {
			b.WriteString(" (was " + p + ")")
		}
	}
	for _, k := range []string{"description", "key", "flag", "commit"} {
		if v, ok := e.Attrs.Get(k); ok && v != "" {
			b.WriteString(", " + k + " " + v)
		}
	}
	if e.Body != "" {
		b.WriteString(": " + e.Body)
	}
	switch {
	case c.InWindow:
		fmt.Fprintf(&b, ", inside the window (at %s)", time.Unix(0, e.TimeUnixNano).UTC().Format("15:04:05"))
	case c.Lead >= 0:
		fmt.Fprintf(&b, ", %s before the onset", c.Lead.Round(time.Second))
	default:
		fmt.Fprintf(&b, ", %s after the onset", (-c.Lead).Round(time.Second))
	}
	return b.String()
}

// LogTemplate is a log template of a service that appeared or surged.
type LogTemplate struct {
	Service, Template, Example string
	// Now and Before are weighted lines per minute in each window.
	Now, Before float64
	Errors      bool // most of its lines are errors (or warnings)
	New         bool
	// Stopped: the template fell silent (Now far below Before) while its
	// service went on; Operation, when known, is the span its lines were
	// written in and OpBefore, OpNow its spans per minute, which went on.
	Stopped         bool
	Operation       string
	OpBefore, OpNow float64
	Strength        float64
}

// Result is what the correlator found.
type Result struct {
	Changes   []Change      // strongest first
	Templates []LogTemplate // strongest first
	// Services tells, per service, how many of its lines in each window
	// were errors, and which traces its window's error lines belong to.
	Services map[string]*ServiceLogs
	// LogsNow and LogsBefore count the log lines read in each window.
	LogsNow, LogsBefore int
}

// ServiceLogs is one service's log lines in both windows.
type ServiceLogs struct {
	Lines, Errors             float64 // the window's, weighted
	LinesBefore, ErrorsBefore float64
	// ErrorTraces are the traces of the window's error lines (at most
	// maxErrorTraces): an error logged in a trace where the service's
	// callee logged one too is the callee's, passed up.
	ErrorTraces map[string]bool
}

// ErrorShare is the share of the window's lines that are errors.
func (s *ServiceLogs) ErrorShare() float64 {
	if s.Lines <= 0 {
		return 0
	}
	return s.Errors / s.Lines
}

// maxErrorTraces bounds the traces kept per service.
const maxErrorTraces = 2000

// Correlate reads changes and logs around the onset.
func Correlate(ctx context.Context, src Source, in Input) (*Result, error) {
	unknown := in.Onset == 0
	if unknown {
		in.Onset = in.Window.Start
	}
	res := &Result{}
	var err error
	if res.Changes, err = changes(ctx, src, in, unknown); err != nil {
		return nil, err
	}
	if err := templates(ctx, src, in, res); err != nil {
		return nil, err
	}
	return res, nil
}

// changes reads the change events from Lookback before the onset to the
// window's end.
func changes(ctx context.Context, src Source, in Input, unknownOnset bool) ([]Change, error) {
	r := domain.TimeRange{Start: in.Onset - int64(Lookback), End: in.Window.End}
	kind := domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "kind"}, Op: domain.OpEq, Value: string(domain.KindEvent)}
	queries := [][]domain.Filter{
		// Events and OTLP log records that say they are a change.
		{{Field: domain.Field{Kind: domain.FieldAttr, Name: domain.ChangeTypeAttr}, Op: domain.OpExists}},
		{kind, {Field: domain.Field{Kind: domain.FieldColumn, Name: "name"}, Op: domain.OpEq, Value: "deploy"}},
	}
	seen := map[uint64]bool{}
	var out []Change
	for _, filters := range queries {
		page, err := src.Events(ctx, domain.EventQuery{Tenant: in.Tenant, Range: r, Filters: filters, Limit: 500})
		if err != nil {
			return nil, fmt.Errorf("change events: %w", err)
		}
		for _, e := range page.Events {
			typ, ok := domain.ChangeType(&e)
			if !ok || seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			lead := time.Duration(in.Onset - e.TimeUnixNano)
			inside := unknownOnset && e.TimeUnixNano >= in.Window.Start
			if inside {
				lead = 0
			}
			out = append(out, Change{Event: e, Type: typ, Lead: lead, Strength: nearness(lead), InWindow: inside})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Strength != out[j].Strength {
			return out[i].Strength > out[j].Strength
		}
		return out[i].Event.TimeUnixNano > out[j].Event.TimeUnixNano
	})
	return out, nil
}

// nearness scores a change by how long before the onset it came: within a
// minute either side 1, ten minutes before 0.6, half an hour 0.22; more
// than a minute after the onset it cannot have caused it.
func nearness(lead time.Duration) float64 {
	switch {
	case lead < -time.Minute:
		return 0
	case lead <= time.Minute:
		return 1
	}
	return math.Exp(-float64(lead-time.Minute) / float64(20*time.Minute))
}

// minTemplate is the least strength a template needs to be told: a
// template a little more frequent than before is the noise of counting.
const minTemplate = 0.1

// Log reading bounds. The window is read whole up to maxWindowLines; the
// baseline, usually far longer, is sampled fairly: cut into
// baselineSlices equal slices, the newest lines of each up to its share
// of maxBaselineLines, so that a busy last minute cannot stand for the
// whole baseline (reading only the newest lines did).
const (
	maxWindowLines   = 50000
	maxBaselineLines = 20000
	windowSlices     = 6
	baselineSlices   = 12
)

// shareFloor is the least share of a service's lines a template is
// counted at: a template going from 0.01 % to 0.1 % of the lines is no
// change anyone would act on.
const shareFloor = 0.01

// sureFrom and sureTo map how unlikely a template's count in the window
// is, had its rate not changed, to how much its rise counts: p = 0.1 is
// the noise of counting, p = 0.001 is sure. Baselines of logs are often
// short (a quiet service logs a few lines a minute), so the test is
// lenient; the share's rise says how large the change is.
const sureFrom, sureTo = 1.0, 3.0

// infoWeight is what a template that is not made of error lines counts
// for beside one that is: a new kind of INFO line is sometimes the sign
// (a retry, a fallback), more often a new code path a request took.
const infoWeight = 0.5

// tally counts one template of one service in both windows.
type tally struct {
	now, before float64
	errs        float64  // weighted error lines, both windows
	spans       []string // spans of some of its baseline lines
}

// coverage is the time a window's lines stand for: the minutes in which
// lines were read. Not the time from its first line to its last: logs come
// with gaps (a collector down, an export of the minutes around incidents
// only), and a rate divided by time with no data in it is too low.
type coverage struct {
	seen map[int64]bool
}

func (c *coverage) add(ts int64) {
	if c.seen == nil {
		c.seen = map[int64]bool{}
	}
	c.seen[ts/int64(time.Minute)] = true
}

func (c *coverage) minutes() float64 { return math.Max(float64(len(c.seen)), 1) }

// logReader mines the lines of both windows with one miner.
type logReader struct {
	src      Source
	tenant   string
	miner    *Miner
	counts   map[tmplKey]*tally
	services map[string]*ServiceLogs
}

type tmplKey struct {
	service string
	t       *Template
}

// read reads the log lines of r, in slices, at most limit in all.
func (lr *logReader) read(ctx context.Context, r domain.TimeRange, slices, limit int, now bool) (int, coverage, error) {
	var cov coverage
	n := 0
	step := max((r.End-r.Start)/int64(slices), 1)
	share := max(limit/slices, 1)
	for end := r.End; end > r.Start; end -= step {
		slice := domain.TimeRange{Start: max(end-step, r.Start), End: end}
		got, err := lr.readSlice(ctx, slice, share, now, &cov)
		if err != nil {
			return n, cov, err
		}
		n += got
	}
	return n, cov, nil
}

// readSlice reads the newest lines of one slice, at most share of them.
func (lr *logReader) readSlice(ctx context.Context, r domain.TimeRange, share int, now bool, cov *coverage) (int, error) {
	q := domain.EventQuery{Tenant: lr.tenant, Range: r, Limit: min(1000, share), Filters: []domain.Filter{
		{Field: domain.Field{Kind: domain.FieldColumn, Name: "kind"}, Op: domain.OpEq, Value: string(domain.KindLog)}}}
	n := 0
	for n < share {
		page, err := lr.src.Events(ctx, q)
		if err != nil {
			return n, fmt.Errorf("logs: %w", err)
		}
		for i := range page.Events {
			lr.add(&page.Events[i], now)
			cov.add(page.Events[i].TimeUnixNano)
		}
		n += len(page.Events)
		if page.Next == nil {
			break
		}
		q.After = page.Next
	}
	return n, nil
}

// add files one line under its service's template. Error lines and the
// others are mined apart: the same words at ERROR and at INFO are two
// things to an on-call engineer.
func (lr *logReader) add(e *domain.Event, now bool) {
	line := e.Body
	if line == "" {
		line = e.Name
	}
	bad := Errorish(e)
	k := tmplKey{e.Service, lr.miner.AddClass(line, bad)}
	sl := lr.services[e.Service]
	if sl == nil {
		sl = &ServiceLogs{ErrorTraces: map[string]bool{}}
		lr.services[e.Service] = sl
	}
	t := lr.counts[k]
	if t == nil {
		t = &tally{}
		lr.counts[k] = t
	}
	w := e.SampleRate
	if w <= 0 {
		w = 1
	}
	if now {
		t.now += w
		sl.Lines += w
	} else {
		t.before += w
		sl.LinesBefore += w
		t.link(e.SpanID)
	}
	if bad {
		t.errs += w
		if now {
			sl.Errors += w
			if e.TraceID != "" && len(sl.ErrorTraces) < maxErrorTraces {
				sl.ErrorTraces[e.TraceID] = true
			}
		} else {
			sl.ErrorsBefore += w
		}
	}
}

// templates mines the logs of both windows with one miner and compares
// each template's rate: how far it rose, and how sure the counts make
// that (a template seen 3 times after and never in a 40-second baseline
// is less sure than one seen 300 times).
func templates(ctx context.Context, src Source, in Input, res *Result) error {
	lr := &logReader{src: src, tenant: in.Tenant, miner: NewMiner(), counts: map[tmplKey]*tally{}, services: map[string]*ServiceLogs{}}
	res.Services = lr.services
	// The baseline first, so that templates are made from normal lines
	// and the window's lines are judged against them.
	var before, now coverage
	var err error
	if res.LogsBefore, before, err = lr.read(ctx, in.Baseline, baselineSlices, maxBaselineLines, false); err != nil {
		return err
	}
	if res.LogsNow, now, err = lr.read(ctx, in.Window, windowSlices, maxWindowLines, true); err != nil {
		return err
	}
	minNow, minBefore := now.minutes(), before.minutes()
	// Each service's lines in each window: a template is judged by its
	// share of its service's lines, so that a service that got busier
	// (more of every line) is not read as a change in what it says.
	lines := map[string]*tally{}
	for k, t := range lr.counts {
		l := lines[k.service]
		if l == nil {
			l = &tally{}
			lines[k.service] = l
		}
		l.now += t.now
		l.before += t.before
	}
	for k, t := range lr.counts {
		if t.now < 3 || k.t == other {
			continue
		}
		svc := lines[k.service]
		lt := LogTemplate{Service: k.service, Template: k.t.Text(), Example: k.t.Example, Now: t.now / minNow,
			Before: t.before / minBefore, Errors: t.errs >= 0.5*(t.now+t.before), New: t.before == 0}
		if res.LogsBefore == 0 {
			// Nothing at all to compare with: only error lines say
			// anything, and not much.
			lt.New = false
			if !lt.Errors {
				continue
			}
			lt.Strength = 0.4 * signals.Rise(lt.Now, 0, 1)
		} else {
			shareNow, shareBefore := t.now/svc.now, 0.0
			if svc.before > 0 {
				shareBefore = t.before / svc.before
			}
			sure := signals.Sure(signals.PoissonRise(t.now, minNow, t.before, minBefore), sureFrom, sureTo)
			lt.Strength = signals.Rise(shareNow, shareBefore, shareFloor) * sure
			if !lt.Errors {
				lt.Strength *= infoWeight
			}
		}
		if lt.Strength >= minTemplate {
			res.Templates = append(res.Templates, lt)
		}
	}
	if res.LogsBefore > 0 {
		stopped, err := lr.silences(ctx, in, minNow, minBefore, lines)
		if err != nil {
			return err
		}
		res.Templates = append(res.Templates, stopped...)
	}
	sort.Slice(res.Templates, func(i, j int) bool {
		a, b := res.Templates[i], res.Templates[j]
		if a.Strength != b.Strength {
			return a.Strength > b.Strength
		}
		return a.Service+a.Template < b.Service+b.Template
	})
	return nil
}

// severe says whether a record's severity is an error, by the same level
// words a line is read by, and OTLP's short names (ERROR2, FATAL4).
func severe(s string) bool {
	n := strings.ToUpper(s)
	return levelWords[n] == sevError || strings.HasPrefix(n, "ERROR") || strings.HasPrefix(n, "FATAL")
}

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
	"github.com/inquest/inquest/storage"
)

// Source is what the correlator reads.
type Source interface {
	Events(ctx context.Context, q storage.EventQuery) (*storage.EventPage, error)
}

// Input is the window to explain, the one it is compared with, and the
// onset (the window's start when 0).
type Input struct {
	Tenant           string
	Window, Baseline storage.TimeRange
	Onset            int64
}

// Lookback is how long before the onset a change is still looked at.
const Lookback = 2 * time.Hour

// Change is a change event and how strongly its timing ties it to the onset.
type Change struct {
	Event    storage.Event
	Type     string
	Strength float64
	// Lead is how long before the onset it came (negative: after).
	Lead time.Duration
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
	Strength    float64
}

// Result is what the correlator found.
type Result struct {
	Changes   []Change      // strongest first
	Templates []LogTemplate // strongest first
	// LogsNow and LogsBefore count the log lines read in each window.
	LogsNow, LogsBefore int
}

// Correlate reads changes and logs around the onset.
func Correlate(ctx context.Context, src Source, in Input) (*Result, error) {
	if in.Onset == 0 {
		in.Onset = in.Window.Start
	}
	res := &Result{}
	var err error
	if res.Changes, err = changes(ctx, src, in); err != nil {
		return nil, err
	}
	if err := templates(ctx, src, in, res); err != nil {
		return nil, err
	}
	return res, nil
}

// changes reads the change events from Lookback before the onset to the
// window's end.
func changes(ctx context.Context, src Source, in Input) ([]Change, error) {
	r := storage.TimeRange{Start: in.Onset - int64(Lookback), End: in.Window.End}
	kind := storage.Filter{Field: storage.Field{Kind: storage.FieldColumn, Name: "kind"}, Op: storage.OpEq, Value: string(storage.KindEvent)}
	queries := [][]storage.Filter{
		// Events and OTLP log records that say they are a change.
		{{Field: storage.Field{Kind: storage.FieldAttr, Name: storage.ChangeTypeAttr}, Op: storage.OpExists}},
		{kind, {Field: storage.Field{Kind: storage.FieldColumn, Name: "name"}, Op: storage.OpEq, Value: "deploy"}},
	}
	seen := map[uint64]bool{}
	var out []Change
	for _, filters := range queries {
		page, err := src.Events(ctx, storage.EventQuery{Tenant: in.Tenant, Range: r, Filters: filters, Limit: 500})
		if err != nil {
			return nil, fmt.Errorf("change events: %w", err)
		}
		for _, e := range page.Events {
			typ, ok := storage.ChangeType(&e)
			if !ok || seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			lead := time.Duration(in.Onset - e.TimeUnixNano)
			out = append(out, Change{Event: e, Type: typ, Lead: lead, Strength: nearness(lead)})
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

// maxLogLines bounds the log lines read per window.
const maxLogLines = 5000

// templates mines the logs of both windows with one miner and compares
// each template's rate.
func templates(ctx context.Context, src Source, in Input, res *Result) error {
	m := NewMiner()
	type key struct {
		service string
		t       *Template
	}
	type tally struct {
		now, before float64
		errs        float64 // weighted error lines, both windows
	}
	counts := map[key]*tally{}
	// first and last line of each window: rates divide by the time the
	// lines cover, not by a window the data began late in.
	span := [2][2]int64{{math.MaxInt64, 0}, {math.MaxInt64, 0}}
	read := func(r storage.TimeRange, now bool) (int, error) {
		side := 0
		if now {
			side = 1
		}
		q := storage.EventQuery{Tenant: in.Tenant, Range: r, Limit: 1000, Filters: []storage.Filter{
			{Field: storage.Field{Kind: storage.FieldColumn, Name: "kind"}, Op: storage.OpEq, Value: string(storage.KindLog)}}}
		n := 0
		for n < maxLogLines {
			page, err := src.Events(ctx, q)
			if err != nil {
				return n, fmt.Errorf("logs: %w", err)
			}
			for i := range page.Events {
				e := &page.Events[i]
				line := e.Body
				if line == "" {
					line = e.Name
				}
				k := key{e.Service, m.Add(line)}
				t := counts[k]
				if t == nil {
					t = &tally{}
					counts[k] = t
				}
				w := e.SampleRate
				if w <= 0 {
					w = 1
				}
				if now {
					t.now += w
				} else {
					t.before += w
				}
				if e.Status == storage.StatusError || severe(e.Severity) {
					t.errs += w
				}
				span[side][0], span[side][1] = min(span[side][0], e.TimeUnixNano), max(span[side][1], e.TimeUnixNano)
			}
			n += len(page.Events)
			if page.Next == nil {
				break
			}
			q.After = page.Next
		}
		return n, nil
	}
	var err error
	// The baseline first, so that templates are made from normal lines
	// and the window's lines are judged against them.
	if res.LogsBefore, err = read(in.Baseline, false); err != nil {
		return err
	}
	if res.LogsNow, err = read(in.Window, true); err != nil {
		return err
	}
	minNow, minBefore := minutes(span[1]), minutes(span[0])
	for k, t := range counts {
		if t.now < 3 || k.t == other {
			continue
		}
		lt := LogTemplate{Service: k.service, Template: k.t.Text(), Example: k.t.Example, Now: t.now / minNow,
			Before: t.before / minBefore, Errors: t.errs >= 0.5*(t.now+t.before), New: t.before == 0}
		lt.Strength = signals.Rise(lt.Now, lt.Before, 1)
		if !lt.Errors {
			lt.Strength *= 0.6
		}
		if res.LogsBefore == 0 {
			// Nothing to compare with: only error lines say anything.
			lt.New = false
			if !lt.Errors {
				continue
			}
			lt.Strength = 0.4 * signals.Rise(lt.Now, 0, 1)
		}
		if lt.Strength >= minTemplate {
			res.Templates = append(res.Templates, lt)
		}
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

func severe(s string) bool {
	switch strings.ToUpper(s) {
	case "ERROR", "FATAL", "CRITICAL", "WARN", "WARNING", "EMERGENCY", "ALERT":
		return true
	}
	return false
}

// minutes is the time from a window's first line to its last, at least
// a minute.
func minutes(span [2]int64) float64 {
	return math.Max(float64(span[1]-span[0])/float64(time.Minute), 1)
}

package changes

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/inquest/inquest/agents/signals"
	"github.com/inquest/inquest/domain"
)

// A line a service wrote steadily that stopped, while the requests it is
// written for went on, is where a request now leaves the code early: an
// exception thrown before it, a value returned that sends the request
// another way. It is often the only sign in the logs of a fault that logs
// nothing of its own (the exception is caught and answered above, or the
// wrong value is not wrong to the service). The same stop in a service
// whose callers stopped calling it is theirs, not its own: the operation
// the line belongs to (found through the spans its baseline lines were
// written in) says which.
const (
	// stopExpected: fewer lines expected in the window cannot be told
	// from a quiet spell (8 expected and none seen is p = 0.0003).
	stopExpected = 8.0
	// stopBefore: a template seen fewer times in the baseline is too rare
	// to have a steady rate.
	stopBefore = 5.0
	// stopLeft: a stop leaves at most a quarter of what was expected; a
	// template at half its rate is the noise of which requests came.
	stopLeft = 0.25
	// stopFrom and stopTo map −log10 p of the fall to its strength: a
	// fall only p = 0.001 sure counts from half, p = 10^-6 fully.
	stopFrom, stopTo = 3.0, 6.0
	// opKept: the operation the line is written in kept at least half its
	// rate, so the requests went on and the line is what stopped.
	opKept = 0.5
	// unlinkedWeight is what a stop counts for when no span tells which
	// operation it belongs to (lines without trace context): the callers
	// may have stopped calling, and nothing says they did not.
	unlinkedWeight = 0.5
	// linkSpans is how many distinct spans of its baseline lines a
	// template keeps to find its operation by: enough that some are in
	// the traces kept where traces are sampled (1 in 4 keeps none of 32
	// one time in 10,000).
	linkSpans = 32
)

// loadFactor is how much busier each service's lines were in the window
// than before: the median over its templates of their rate's ratio, so
// that one template surging or stopping does not move it; the ratio of all
// its lines where it has fewer than three templates to take a median of.
func (lr *logReader) loadFactor(minNow, minBefore float64, lines map[string]*tally) map[string]float64 {
	ratios := map[string][]float64{}
	for k, t := range lr.counts {
		if t.before >= 3 {
			ratios[k.service] = append(ratios[k.service], (t.now/minNow)/(t.before/minBefore))
		}
	}
	out := map[string]float64{}
	for svc, l := range lines {
		if rs := ratios[svc]; len(rs) >= 3 {
			out[svc] = signals.Median(rs)
		} else if l.before > 0 {
			out[svc] = (l.now / minNow) / (l.before / minBefore)
		}
	}
	return out
}

// silences finds the templates that stopped. Drain splits one statement
// into a template per line length (a list of ids of varying size), so a
// stop is judged on each template and on each family of templates that
// share their first word (the logger, or the message's first word), and
// the stronger is kept per family. src is read for the spans of the
// stopped lines' operations only.
func (lr *logReader) silences(ctx context.Context, in Input, minNow, minBefore float64, lines map[string]*tally) ([]LogTemplate, error) {
	load := lr.loadFactor(minNow, minBefore, lines)
	type family struct {
		service, first string
	}
	type unit struct {
		t       *Template
		tally   *tally
		members int
	}
	fams := map[family]*unit{}
	for k, t := range lr.counts {
		if k.t == other {
			continue
		}
		f := family{k.service, firstWord(k.t.Tokens)}
		u := fams[f]
		if u == nil {
			u = &unit{tally: &tally{}}
			fams[f] = u
		}
		u.members++
		u.tally.now += t.now
		u.tally.before += t.before
		u.tally.errs += t.errs
		if u.t == nil || t.before > lr.counts[tmplKey{k.service, u.t}].before {
			u.t = k.t
		}
		for _, id := range t.spans {
			u.tally.link(id)
		}
	}
	best := map[family]LogTemplate{}
	judge := func(svc string, u unit) error {
		t := u.tally
		if t.before < stopBefore || t.errs > 0 {
			// A stopped error is good news, and a template with any
			// error line in it is an error template.
			return nil
		}
		expected := t.before / minBefore * minNow * load[svc]
		if expected < stopExpected || t.now > stopLeft*expected {
			return nil
		}
		sure := signals.PoissonFall(t.now, expected)
		if sure < stopFrom {
			return nil
		}
		f := family{svc, firstWord(u.t.Tokens)}
		strength := (0.5 + 0.5*signals.Sure(sure, stopFrom, stopTo)) * (1 - t.now/expected)
		if strength <= best[f].Strength {
			return nil
		}
		text := u.t.Text()
		if u.members > 1 {
			text += fmt.Sprintf(" (and %d more like it)", u.members-1)
		}
		lt := LogTemplate{Service: svc, Template: text, Example: u.t.Example,
			Now: t.now / minNow, Before: t.before / minBefore, Stopped: true, Strength: strength}
		op, err := lr.operation(ctx, in, svc, t.spans)
		if err != nil {
			return err
		}
		switch {
		case op == nil:
			lt.Strength *= unlinkedWeight
		case op.now < opKept*op.before:
			return nil // its requests stopped coming: the callers' doing
		default:
			lt.Operation, lt.OpBefore, lt.OpNow = op.name, op.before, op.now
		}
		if lt.Strength > best[f].Strength {
			best[f] = lt
		}
		return nil
	}
	for k, t := range lr.counts {
		if k.t == other {
			continue
		}
		if err := judge(k.service, unit{t: k.t, tally: t, members: 1}); err != nil {
			return nil, err
		}
	}
	for f, u := range fams {
		if u.members > 1 {
			if err := judge(f.service, *u); err != nil {
				return nil, err
			}
		}
	}
	out := make([]LogTemplate, 0, len(best))
	for _, lt := range best {
		out = append(out, lt)
	}
	return out, nil
}

// firstWord is the first token of a template that is a word, not a
// variable nor a level: the one Drain groups by.
func firstWord(tokens []string) string {
	for _, t := range tokens {
		if variable(t) || t == "<*>" {
			continue
		}
		if _, isLevel := levelWords[strings.ToUpper(strings.Trim(t, "[]():|<>,"))]; isLevel {
			continue
		}
		return t
	}
	return ""
}

// link keeps a span of one of the tally's lines, once, up to linkSpans.
func (t *tally) link(id string) {
	if id == "" || len(t.spans) >= linkSpans || slices.Contains(t.spans, id) {
		return
	}
	t.spans = append(t.spans, id)
}

// opRate is an operation's spans per minute in each window, over the
// minutes its service had any span in.
type opRate struct {
	name        string
	before, now float64
}

// operation finds which operation a template's lines were written in (the
// name most of its linked spans have) and how often it ran in each window;
// nil when no span links it.
func (lr *logReader) operation(ctx context.Context, in Input, svc string, spans []string) (*opRate, error) {
	if len(spans) == 0 {
		return nil, nil
	}
	kind := domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "kind"}, Op: domain.OpEq, Value: string(domain.KindSpan)}
	service := domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: svc}
	page, err := lr.src.Events(ctx, domain.EventQuery{Tenant: lr.tenant, Range: in.Baseline, Limit: len(spans), Filters: []domain.Filter{kind, service,
		{Field: domain.Field{Kind: domain.FieldColumn, Name: "span_id"}, Op: domain.OpIn, Values: spans}}})
	if err != nil {
		return nil, fmt.Errorf("spans of log lines: %w", err)
	}
	names := map[string]int{}
	best := ""
	for _, e := range page.Events {
		names[e.Name]++
		if n := names[e.Name]; n > names[best] || (n == names[best] && e.Name < best) {
			best = e.Name
		}
	}
	if best == "" {
		return nil, nil
	}
	op := &opRate{name: best}
	if op.before, err = lr.rate(ctx, in.Baseline, svc, best); err != nil {
		return nil, err
	}
	if op.now, err = lr.rate(ctx, in.Window, svc, best); err != nil {
		return nil, err
	}
	if op.before == 0 {
		return nil, nil
	}
	return op, nil
}

// rate is how many spans of op a minute svc had in r, over the minutes in
// which svc had any span (traces, like logs, come with gaps).
func (lr *logReader) rate(ctx context.Context, r domain.TimeRange, svc, op string) (float64, error) {
	name := domain.Field{Kind: domain.FieldColumn, Name: "name"}
	// Minutes, or longer buckets for a baseline too long to count by the
	// minute within the store's bucket limit.
	bucket := max(time.Minute, time.Duration(r.End-r.Start)/(domain.MaxBuckets/2))
	res, err := lr.src.Aggregate(ctx, domain.Query{Tenant: lr.tenant, Range: r, Bucket: bucket, GroupBy: []domain.Field{name},
		Limit: domain.MaxGroupLimit, Filters: []domain.Filter{
			{Field: domain.Field{Kind: domain.FieldColumn, Name: "kind"}, Op: domain.OpEq, Value: string(domain.KindSpan)},
			{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: svc}}})
	if err != nil {
		return 0, fmt.Errorf("operation rates: %w", err)
	}
	minutes := map[int64]bool{}
	n := 0.0
	for _, row := range res.Rows {
		minutes[row.Bucket] = true
		if len(row.Keys) == 1 && row.Keys[0] != nil && *row.Keys[0] == op && len(row.Values) == 1 && row.Values[0] != nil {
			n += *row.Values[0]
		}
	}
	if len(minutes) == 0 {
		return 0, nil
	}
	return n / (float64(len(minutes)) * bucket.Minutes()), nil
}

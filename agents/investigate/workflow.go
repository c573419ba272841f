package investigate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/inquest/inquest/agents/bubbleup"
	"github.com/inquest/inquest/agents/changes"
	"github.com/inquest/inquest/agents/deptrace"
	"github.com/inquest/inquest/agents/rca"
	"github.com/inquest/inquest/agents/resources"
	"github.com/inquest/inquest/domain"
)

// Step names.
const (
	StepTracer    = "dependency tracer"
	StepResources = "resources"
	StepChanges   = "changes"
	StepRCA       = "root cause"
	StepBubbleUp  = "bubbleup"
	StepNarrative = "narrative"
	StepSimilar   = "similar incidents"
)

// run holds what the steps found, for the next steps.
type run struct {
	inv *domain.Investigation
	in  rca.Input
}

// Run runs an investigation to its end, storing it after every line. A
// step that fails is told and the others go on; the investigation fails
// only when its context ends.
func (r *Runner) Run(ctx context.Context, inv *domain.Investigation) {
	began := time.Now()
	sc := inv.Scope
	st := &run{inv: inv, in: rca.Input{Window: sc.Range, Baseline: sc.Baseline, Focus: sc.Service, Symptoms: inv.Services, Weights: r.cfg.Weights}}
	r.line(ctx, inv, "thought", "", fmt.Sprintf("Explaining %s against %s%s.", span(sc.Range), span(sc.Baseline), narrowed(sc, inv.Services)))
	steps := []struct {
		name string
		fn   func(context.Context, *run) ([]string, error)
	}{
		{StepTracer, r.tracer}, {StepResources, r.resources}, {StepChanges, r.changes},
		{StepRCA, r.rank}, {StepBubbleUp, r.bubbleUp}, {StepNarrative, r.narrate}, {StepSimilar, r.similar},
	}
	if r.d.Model == nil {
		steps = append(steps[:5], steps[6:]...)
	}
	for _, s := range steps {
		if ctx.Err() != nil {
			break
		}
		r.step(ctx, st, s.name, s.fn)
	}
	inv.FinishedNano = r.now().UnixNano()
	switch {
	case ctx.Err() != nil:
		inv.Status, inv.Error = domain.InvestigationFailed, "stopped before the end: "+ctx.Err().Error()
		if errors.Is(ctx.Err(), context.Canceled) {
			inv.Status = domain.InvestigationInterrupted
		}
	default:
		inv.Status = domain.InvestigationDone
	}
	inv.Summary = summary(inv)
	// What follows from a finished investigation (its proposals) is made
	// before it is stored as done: a client that polls until done and
	// then lists the proposals finds them.
	if inv.Status == domain.InvestigationDone && r.d.OnDone != nil {
		r.d.OnDone(context.WithoutCancel(ctx), *inv)
	}
	r.line(ctx, inv, "done", "", inv.Summary)
	r.runs.WithLabelValues(inv.Status).Inc()
	r.dur.Observe(time.Since(began).Seconds())
}

func (r *Runner) step(ctx context.Context, st *run, name string, fn func(context.Context, *run) ([]string, error)) {
	inv := st.inv
	inv.Steps = append(inv.Steps, domain.InvestigationStep{Name: name, Status: "running", StartedNano: r.now().UnixNano()})
	i := len(inv.Steps) - 1
	r.line(ctx, inv, "step_started", name, "")
	findings, err := fn(ctx, st)
	s := &inv.Steps[i]
	s.FinishedNano, s.Findings, s.Status = r.now().UnixNano(), findings, "done"
	if err != nil {
		s.Status, s.Error = "failed", err.Error()
		r.logger.Warn("investigation step failed", "id", inv.ID, "step", name, "err", err)
	}
	for _, f := range findings {
		r.line(ctx, inv, "finding", name, f)
	}
	text := ""
	if err != nil {
		text = "failed: " + err.Error()
	}
	r.line(ctx, inv, "step_finished", name, text)
}

func (r *Runner) tracer(ctx context.Context, st *run) ([]string, error) {
	sc := st.inv.Scope
	res, err := deptrace.Trace(ctx, r.d.Source, deptrace.Input{Tenant: st.inv.Tenant, Window: sc.Range, Baseline: sc.Baseline})
	if err != nil {
		return nil, err
	}
	spans := false
	for _, f := range res.Findings {
		if f.Now.Spans > 0 || f.Now.Hops > 0 {
			spans = true
		}
	}
	if !spans {
		st.inv.Missing = append(st.inv.Missing, "no traces in the window: services were judged by their metrics alone")
		return []string{"No spans in the window."}, nil
	}
	st.in.Trace = res
	if !res.BaselineSpans {
		st.inv.Missing = append(st.inv.Missing, "no traces in the baseline: network time was compared across services, and own time could not be compared")
	}
	var out []string
	for _, f := range res.Findings {
		if len(out) == 3 || f.Strongest() < 0.2 {
			break
		}
		out = append(out, fmt.Sprintf("%s: own time %.1f ms (before %.1f), calls into it %.1f ms outside it (before %.1f), own errors %.1f%% (before %.1f%%).",
			f.Service, f.SelfMs.Now, f.SelfMs.Before, f.GapMs.Now, f.GapMs.Before, 100*f.ErrorRatio.Now, 100*f.ErrorRatio.Before))
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("%d services traced; none stands out on its own.", len(res.Findings)))
	}
	return out, nil
}

func (r *Runner) resources(ctx context.Context, st *run) ([]string, error) {
	sc := st.inv.Scope
	res, err := resources.Read(ctx, r.d.Source, resources.Input{Tenant: st.inv.Tenant, Window: sc.Range, Baseline: sc.Baseline})
	if err != nil {
		return nil, err
	}
	st.in.Resources = res
	if !res.Kinds[resources.CPU] && !res.Kinds[resources.Memory] {
		st.inv.Missing = append(st.inv.Missing, "no resource metrics (CPU, memory) of any service")
	}
	var out []string
	for _, f := range res.Findings {
		if len(out) == 3 || f.Strength < 0.2 {
			break
		}
		out = append(out, fmt.Sprintf("%s: %s %s reached %.4g (baseline median %.4g).", f.Service, f.Kind, f.Metric, f.Now, f.Before))
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("Metrics of %d services read; none moved far.", len(res.Services)))
	}
	return out, nil
}

func (r *Runner) changes(ctx context.Context, st *run) ([]string, error) {
	sc := st.inv.Scope
	res, err := changes.Correlate(ctx, r.d.Source, changes.Input{Tenant: st.inv.Tenant, Window: sc.Range, Baseline: sc.Baseline, Onset: changesOnset(st.inv)})
	if err != nil {
		return nil, err
	}
	st.in.Changes = res
	if len(res.Changes) == 0 {
		st.inv.Missing = append(st.inv.Missing, "no change events (deploys, config, feature flags) in the 2 h before the onset")
	}
	if res.LogsNow == 0 {
		st.inv.Missing = append(st.inv.Missing, "no logs in the window")
	}
	var out []string
	for _, c := range res.Changes {
		if len(out) == 3 || c.Strength < 0.2 {
			break
		}
		out = append(out, c.Text()+".")
	}
	for i, t := range res.Templates {
		if i == 2 || t.Strength < 0.3 {
			break
		}
		out = append(out, fmt.Sprintf("%s logs %q at %.3g/min (before %.3g/min).", t.Service, t.Template, t.Now, t.Before))
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("%d changes before the onset, none close; %d log lines read.", len(res.Changes), res.LogsNow+res.LogsBefore))
	}
	return out, nil
}

// changesOnset is the onset changes are timed against: an incident's, or
// unknown (0) for a window someone chose, where a change inside the window
// may be where what they asked about began.
func changesOnset(inv *domain.Investigation) int64 {
	if inv.IncidentID == "" {
		return 0
	}
	return onset(inv)
}

// onset is when the trouble began: the window's start plus the minute an
// incident's window is opened early by.
func onset(inv *domain.Investigation) int64 {
	if inv.IncidentID != "" {
		return inv.Scope.Range.Start + int64(time.Minute)
	}
	return inv.Scope.Range.Start
}

func (r *Runner) rank(ctx context.Context, st *run) ([]string, error) {
	st.inv.Hypotheses = rca.Rank(st.in)
	if r.d.Ranked != nil {
		r.d.Ranked(st.inv, st.in)
	}
	if st.in.Trace != nil {
		if err := r.trafficShares(ctx, st.inv); err != nil {
			return nil, err
		}
	}
	var out []string
	for i, h := range st.inv.Hypotheses {
		out = append(out, fmt.Sprintf("#%d %s (%s, confidence %.2f)", i+1, h.Service, h.Cause, h.Confidence))
	}
	if len(out) == 0 {
		out = append(out, "No service stands out: not enough evidence to name a cause.")
	}
	return out, nil
}

// trafficShares sets, for each hypothesis, the share of the traces after
// the onset that pass through its service.
func (r *Runner) trafficShares(ctx context.Context, inv *domain.Investigation) error {
	w := domain.TimeRange{Start: onset(inv), End: inv.Scope.Range.End}
	tid := domain.Field{Kind: domain.FieldColumn, Name: "trace_id"}
	span := domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "kind"}, Op: domain.OpEq, Value: string(domain.KindSpan)}
	traces := func(filters ...domain.Filter) (float64, error) {
		res, err := r.d.Source.Aggregate(ctx, domain.Query{Tenant: inv.Tenant, Range: w, Filters: append(filters, span),
			Aggregations: []domain.Aggregation{{Op: domain.AggCountDistinct, Field: &tid}}})
		if err != nil || len(res.Rows) != 1 || res.Rows[0].Values[0] == nil {
			return 0, err
		}
		return *res.Rows[0].Values[0], nil
	}
	all, err := traces()
	if err != nil || all == 0 {
		return err
	}
	for i := range inv.Hypotheses {
		h := &inv.Hypotheses[i]
		n, err := traces(domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: h.Service})
		if err != nil {
			return err
		}
		h.TrafficShare = n / all
		h.Summary = rca.Summarise(*h)
	}
	return nil
}

// bubbleUp looks, for the two leading hypotheses whose services have
// spans, at what their bad requests share.
func (r *Runner) bubbleUp(ctx context.Context, st *run) ([]string, error) {
	if st.in.Trace == nil {
		return []string{"No spans to compare."}, nil
	}
	var out []string
	for i := range st.inv.Hypotheses {
		if i == 2 {
			break
		}
		h := &st.inv.Hypotheses[i]
		f := st.in.Trace.Finding(h.Service)
		if f == nil || f.Now.Spans < 10 {
			continue
		}
		errs := f.ErrorRatio.Strength > max(f.SelfMs.Strength, f.GapMs.Strength)
		// The bad requests are those after the onset; the baseline is
		// the same service before the window.
		sc := st.inv.Scope
		bad := domain.TimeRange{Start: onset(st.inv), End: sc.Range.End}
		res, err := bubbleup.Explain(ctx, r.d.Source, bubbleup.Input{Tenant: st.inv.Tenant, Service: h.Service, Window: bad,
			Baseline: sc.Baseline, Errors: errs, Scope: sc.Filters})
		if err != nil {
			return out, err
		}
		for j, b := range res.Findings {
			if j == 5 {
				break
			}
			text := res.What + ": " + b.Text(res.Against)
			h.Evidence = append(h.Evidence, domain.Evidence{Kind: rca.KindBubbleUp, Text: text, Strength: b.Score, Query: res.Query})
			out = append(out, text)
		}
		sort.SliceStable(h.Evidence, func(a, b int) bool { return h.Evidence[a].Strength > h.Evidence[b].Strength })
		h.Summary = rca.Summarise(*h)
	}
	if len(out) == 0 {
		out = append(out, "No attribute value sets the bad requests apart.")
	}
	return out, nil
}

// narrate has the model write the investigation up; an answer that cites
// evidence that does not exist (or fails another check) is refused and
// the deterministic summary stands.
func (r *Runner) narrate(ctx context.Context, st *run) ([]string, error) {
	n, err := rca.Narrate(ctx, r.d.Model, st.inv, rca.DefaultBudget)
	if err != nil {
		return []string{"The model's narrative was refused: " + err.Error()}, nil
	}
	before := ""
	if len(st.inv.Hypotheses) > 0 {
		before = st.inv.Hypotheses[0].Service
	}
	st.inv.Hypotheses = rca.Reorder(st.inv.Hypotheses, n.Order)
	st.inv.Narrative, st.inv.NarrativeModel = n.Text, n.Model
	out := []string{n.Model + ": " + n.Text}
	if len(st.inv.Hypotheses) > 0 && st.inv.Hypotheses[0].Service != before {
		out = append(out, fmt.Sprintf("The model put %s first (the evidence's order had %s).", st.inv.Hypotheses[0].Service, before))
	}
	return out, nil
}

func summary(inv *domain.Investigation) string {
	if len(inv.Hypotheses) == 0 {
		s := "Not enough evidence to name a cause."
		if len(inv.Missing) > 0 {
			s += " Missing: " + strings.Join(inv.Missing, "; ") + "."
		}
		return s
	}
	return inv.Hypotheses[0].Summary
}

func span(r domain.TimeRange) string {
	a, b := time.Unix(0, r.Start).UTC(), time.Unix(0, r.End).UTC()
	return a.Format("2006-01-02 15:04:05") + "–" + b.Format("15:04:05") + " UTC"
}

func narrowed(sc domain.InvestigationScope, services []string) string {
	var parts []string
	if sc.Service != "" {
		parts = append(parts, "service "+sc.Service+" and what it calls")
	}
	if len(services) > 0 {
		parts = append(parts, "the incident's services "+strings.Join(services, ", "))
	}
	if len(parts) == 0 {
		return ", every service"
	}
	return ", " + strings.Join(parts, "; ")
}

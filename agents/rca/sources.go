package rca

import (
	"fmt"
	"math"

	"github.com/inquest/inquest/agents/evidence"
	"github.com/inquest/inquest/agents/resources"
	"github.com/inquest/inquest/domain"
)

// both is the baseline and the window together: what a chart of the
// evidence shows.
func both(in Input) domain.TimeRange {
	return domain.TimeRange{Start: in.Baseline.Start, End: in.Window.End}
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	if v >= 10 {
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func before(peers bool, v float64, unit func(float64) string) string {
	if peers {
		return "other services: " + unit(v) + "; no baseline traces"
	}
	return "before: " + unit(v)
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

func rate(v float64) string { return fmt.Sprintf("%.3g/s", v) }

// fromTrace turns the tracer's findings into evidence of each service's
// own.
func fromTrace(in Input, get func(string) *candidate) {
	entry := map[string]bool{}
	for _, f := range in.Trace.Findings {
		if len(in.Trace.Graph.Callers(f.Service)) == 0 {
			entry[f.Service] = true
		}
	}
	for _, f := range in.Trace.Findings {
		c := get(f.Service)
		svc := []evidence.Filter{evidence.Eq("service", f.Service), evidence.Eq("kind", "span")}
		if s := f.SelfMs; s.Strength > 0 {
			c.add(KindLatency, domain.Evidence{Strength: s.Strength,
				Text:  fmt.Sprintf("%s's own time per span rose from %s to %s (%.1f×), apart from its callees", f.Service, ms(s.Before), ms(s.Now), s.Now/max(s.Before, 0.001)),
				Query: evidence.Aggregate(both(in), svc, "1m", evidence.Aggregation{Op: "P99", Field: "duration_ms"}, evidence.Aggregation{Op: "P50", Field: "duration_ms"})})
		}
		if s := f.GapMs; s.Strength > 0 {
			rising := 0
			for _, e := range f.Edges {
				if e.Strength >= 0.3 {
					rising++
				}
			}
			c.add(KindGap, domain.Evidence{Strength: s.Strength,
				Text: fmt.Sprintf("calls between %s and %d of its %d neighbours spent up to %s outside both on the way (network, queues; %s)",
					f.Service, rising, len(f.Edges), ms(s.Now), before(s.Peers, s.Before, ms)),
				Query: evidence.Aggregate(both(in), svc, "1m", evidence.Aggregation{Op: "P99", Field: "duration_ms"})})
			if s.Peers && s.Strength >= c.best[KindGap] {
				c.peers = true
			}
		}
		if s := f.ErrorRatio; s.Strength > 0 {
			text := fmt.Sprintf("%s of %s's requests failed with errors that began there (%s)", pct(s.Now), f.Service, before(false, s.Before, pct))
			if s.Peers {
				text = fmt.Sprintf("%s of %s's requests failed with errors that began there (no baseline traces)", pct(s.Now), f.Service)
			}
			c.add(KindErrors, domain.Evidence{Strength: s.Strength, Text: text,
				Query: evidence.Events(in.Window, append(svc, evidence.Eq("status", "error")))})
		}
		if s := f.Rate; s.Strength > 0 && entry[f.Service] {
			c.add(KindTraffic, domain.Evidence{Strength: s.Strength,
				Text:  fmt.Sprintf("requests into %s rose from %s to %s", f.Service, rate(s.Before), rate(s.Now)),
				Query: evidence.Aggregate(both(in), svc, "1m", evidence.Aggregation{Op: "RATE"})})
		}
	}
}

// fromResources turns metric findings into evidence: resources that ran
// high always; a service's latency and error metrics only where there are
// no spans of it (they include what its callees did), and for less.
func fromResources(in Input, w *Weights, get func(string) *candidate) {
	traced := map[string]bool{}
	if in.Trace != nil {
		for _, f := range in.Trace.Findings {
			if f.Now.Spans > 0 {
				traced[f.Service] = true
			}
		}
	}
	for _, f := range in.Resources.Findings {
		if f.Strength <= 0 {
			continue
		}
		strength, kind := f.Strength, KindResource
		switch {
		case resources.Saturation(f.Kind):
		case f.Canary && f.Kind == resources.Latency:
			kind = KindLatency // new instances against old, at the same minutes: their own
		case f.Canary && f.Kind == resources.Errors:
			kind = KindErrors
		case traced[f.Service]:
			continue
		case f.Kind == resources.Latency:
			strength, kind = w.MetricOnly*strength, KindLatency
		case f.Kind == resources.Errors:
			strength, kind = w.MetricOnly*strength, KindErrors
		default:
			continue
		}
		get(f.Service).add(kind, domain.Evidence{Strength: strength, Text: resourceText(f), Query: evidence.MetricSeries(f.Query)})
	}
}

// resourceText says what a metric finding found.
func resourceText(f resources.Finding) string {
	switch {
	case f.Canary:
		version := "its new instances"
		if f.Version != "" {
			version = "its new instances (version " + f.Version + ")"
		}
		return fmt.Sprintf("%s: %s ran its %s (%s) at %.4g against %.4g for its old instances over the same minutes (%.0f robust σ above)",
			f.Service, version, f.Kind, f.Metric, f.Now, f.Before, f.Z)
	case f.Fresh:
		return fmt.Sprintf("%s's %s (%s) on a new instance reached %.4g, past its start-up, against a median of %.4g on the service's earlier instances (%.0f robust σ above)",
			f.Service, f.Kind, f.Metric, f.Now, f.Before, f.Z)
	}
	return fmt.Sprintf("%s's %s (%s) reached %.4g against a baseline median of %.4g (%.0f robust σ above)",
		f.Service, f.Kind, f.Metric, f.Now, f.Before, f.Z)
}

// fromChanges attaches each change to its service, and new or surging log
// templates to theirs.
func fromChanges(in Input, w *Weights, get func(string) *candidate) {
	for i, ch := range in.Changes.Changes {
		if ch.Event.Service == "" || ch.Strength <= 0 {
			continue
		}
		c := get(ch.Event.Service)
		if c.change == nil || ch.Strength > c.best[KindChange] {
			c.change = &in.Changes.Changes[i]
		}
		c.add(KindChange, domain.Evidence{Strength: ch.Strength, Text: ch.Text(),
			Query: evidence.Events(domain.TimeRange{Start: ch.Event.TimeUnixNano, End: ch.Event.TimeUnixNano + 1},
				[]evidence.Filter{evidence.Eq("service", ch.Event.Service), evidence.Eq("kind", "event")})})
	}
	for svc, sl := range in.Changes.Services {
		if sl.Errors < w.MinErrorLines {
			continue
		}
		share := sl.ErrorShare()
		strength := w.LogLevelWeight * (1 - math.Exp(-share/w.LogLevelScale))
		before := "no lines before"
		if sl.LinesBefore > 0 {
			before = fmt.Sprintf("before %s of %.0f", pct(sl.ErrorsBefore/sl.LinesBefore), sl.LinesBefore)
		}
		get(svc).add(KindLog, domain.Evidence{Strength: strength,
			Text:  fmt.Sprintf("%s of %s's %.0f log lines in the window are errors (%s)", pct(share), svc, sl.Lines, before),
			Query: evidence.Events(in.Window, []evidence.Filter{evidence.Eq("service", svc), evidence.Eq("kind", "log")})})
	}
	for _, t := range in.Changes.Templates {
		what := "log lines"
		if t.Errors {
			what = "error log lines"
		}
		text := fmt.Sprintf("%s in %s surged to %.3g/min (before %.3g/min): %q", what, t.Service, t.Now, t.Before, t.Template)
		switch {
		case t.Stopped && t.Operation != "":
			text = fmt.Sprintf("%s stopped writing %q (%.3g/min, before %.3g/min) while its %s requests went on (%.3g/min, before %.3g/min): requests leave its code early",
				t.Service, t.Template, t.Now, t.Before, t.Operation, t.OpNow, t.OpBefore)
		case t.Stopped:
			text = fmt.Sprintf("%s stopped writing %q (%.3g/min, before %.3g/min) while its other lines went on", t.Service, t.Template, t.Now, t.Before)
		case t.New:
			text = fmt.Sprintf("new %s in %s, %.3g/min: %q", what, t.Service, t.Now, t.Template)
		}
		c := get(t.Service)
		if t.Stopped && t.Operation != "" {
			c.silent = max(c.silent, t.Strength)
		}
		c.add(KindLog, domain.Evidence{Strength: t.Strength, Text: text,
			Query: evidence.Events(in.Window, []evidence.Filter{evidence.Eq("service", t.Service), evidence.Eq("kind", "log")})})
	}
}

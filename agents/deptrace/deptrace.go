// Package deptrace is the dependency tracer: from spans it tells, for
// every service, how anomalous the service is on its own — its own time
// and errors, not what it inherited from its callees — and how much time
// calls into it spent on the way (network, queues), and it finds the path
// from the entry point to each candidate and the services upstream that a
// fault there reaches.
package deptrace

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/inquest/inquest/agents/signals"
	"github.com/inquest/inquest/agents/topology"
	"github.com/inquest/inquest/domain"
)

// Source is what the tracer reads.
type Source interface {
	SpanStats(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.SpanStats, error)
	ServiceMap(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceEdge, error)
}

// Input is the window to explain and the window it is compared with.
type Input struct {
	Tenant           string
	Window, Baseline domain.TimeRange
}

// minSpans is how many (weighted) spans a service needs in a window for
// its figures there to count.
const minSpans = 10

// Signal is one figure of a service in both windows and how strongly its
// change points at the service (0-1).
type Signal struct {
	Now, Before float64
	Strength    float64
	// Peers is set when there was no baseline and the figure was
	// compared with the other services' instead.
	Peers bool
}

// Finding is what the tracer found of one service.
type Finding struct {
	Service     string
	Now, Before domain.SpanStats
	// HasBaseline tells whether the baseline window held enough of the
	// service's spans to compare with.
	HasBaseline bool
	SelfMs      Signal // mean own time of its spans
	// GapMs is the time calls between the service and its neighbours
	// spent outside both (network, queues), in either direction: Now and
	// Before of its most changed connection, Strength the mean over all its
	// connections — a fault of the service's own (its network, its CPU)
	// slows all of them, a neighbour's fault only the one between them.
	GapMs      Signal
	Edges      []Edge
	ErrorRatio Signal // own errors over its spans
	Rate       Signal // spans per second (traffic)
}

// Edge is the time calls from Caller to Callee spent outside the callee.
type Edge struct {
	Caller, Callee string
	Signal
}

// GapWithout is the gap strength over the service's connections other
// than the one with other: how much of it other cannot have caused.
func (f *Finding) GapWithout(other string) float64 {
	sum, n := 0.0, 0
	for _, e := range f.Edges {
		if e.Caller != other && e.Callee != other {
			sum += e.Strength
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Strongest is the finding's strongest signal.
func (f *Finding) Strongest() float64 {
	return max(f.SelfMs.Strength, f.GapMs.Strength, f.ErrorRatio.Strength, f.Rate.Strength)
}

// Result is the tracer's answer.
type Result struct {
	Findings []*Finding // strongest first
	// Graph is the service graph of the window (and the baseline, for
	// services quiet in the window).
	Graph topology.Graph
	// BaselineSpans tells whether the baseline held spans at all.
	BaselineSpans bool
}

// Finding returns the finding of a service, or nil.
func (r *Result) Finding(service string) *Finding {
	for _, f := range r.Findings {
		if f.Service == service {
			return f
		}
	}
	return nil
}

// support is how far a mean over n (weighted) spans is to be believed,
// from 0 to 1: a mean of a few spans is one slow request, a mean of many
// is a service that slowed. supportScale weighted spans make 0.63, three
// times as many 0.95.
func support(n float64) float64 { return 1 - math.Exp(-n/supportScale) }

const supportScale = 40

// minHops is how many (weighted) calls a connection needs in a window for
// its gap there to count.
const minHops = 5

// Trace reads both windows' span figures and the graph and scores each
// service.
func Trace(ctx context.Context, src Source, in Input) (*Result, error) {
	nowRows, err := src.SpanStats(ctx, in.Tenant, in.Window)
	if err != nil {
		return nil, fmt.Errorf("span figures of the window: %w", err)
	}
	beforeRows, err := src.SpanStats(ctx, in.Tenant, in.Baseline)
	if err != nil {
		return nil, fmt.Errorf("span figures of the baseline: %w", err)
	}
	edges, err := src.ServiceMap(ctx, in.Tenant, domain.TimeRange{Start: in.Baseline.Start, End: in.Window.End})
	if err != nil {
		return nil, fmt.Errorf("service graph: %w", err)
	}
	res := &Result{Graph: topology.Graph{Edges: edges}}
	now, before := domain.Merge(nowRows), domain.Merge(beforeRows)
	base := map[string]domain.SpanStats{}
	for _, b := range before {
		base[b.Service] = b
		if b.Spans > 0 || b.Hops > 0 {
			res.BaselineSpans = true
		}
	}
	secNow := covered(now, in.Window)
	secBefore := covered(before, in.Baseline)
	conns := connections(nowRows, beforeRows)
	for _, n := range now {
		f := &Finding{Service: n.Service, Now: n}
		b, ok := base[n.Service]
		f.Before = b
		f.HasBaseline = ok && (b.Spans >= minSpans || b.Hops >= minSpans)
		score(f, secNow, secBefore)
		gaps(f, conns)
		res.Findings = append(res.Findings, f)
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i].Strongest(), res.Findings[j].Strongest()
		if a != b {
			return a > b
		}
		return res.Findings[i].Service < res.Findings[j].Service
	})
	return res, nil
}

// connections scores every caller → callee connection's gap: against the
// baseline's when it had calls there too, otherwise against the other
// connections of the window (one cluster's network treats all alike), for
// less (0.8), for that proves less.
func connections(nowRows, beforeRows []domain.SpanStats) []Edge {
	type key struct{ caller, callee string }
	before := map[key]domain.SpanStats{}
	for _, r := range beforeRows {
		if r.Caller != "" {
			before[key{r.Caller, r.Service}] = r
		}
	}
	var peers []float64
	for _, r := range nowRows {
		if r.Caller != "" && r.Hops >= minHops {
			peers = append(peers, r.GapMs())
		}
	}
	var out []Edge
	for _, r := range nowRows {
		if r.Caller == "" || r.Hops < minHops {
			continue
		}
		e := Edge{Caller: r.Caller, Callee: r.Service, Signal: Signal{Now: r.GapMs()}}
		if b, ok := before[key{r.Caller, r.Service}]; ok && b.Hops >= minHops {
			e.Before = b.GapMs()
			e.Strength = signals.Rise(e.Now, e.Before, 2)
		} else if len(peers) >= 3 {
			e.Peers, e.Before = true, signals.Median(peers)
			e.Strength = 0.8 * signals.Z(signals.RobustZ(e.Now, peers, 0.25, 1))
		}
		out = append(out, e)
	}
	return out
}

// gaps gives the service its connections and their mean strength, with
// one more connection counted that showed nothing: a single slow
// connection is as much the other end's or the network's, and a service
// is blamed more as more of its own connections agree (one slow of one
// counts a half, two of two two thirds, five of five five sixths).
func gaps(f *Finding, conns []Edge) {
	sum := 0.0
	for _, e := range conns {
		if e.Caller != f.Service && e.Callee != f.Service {
			continue
		}
		f.Edges = append(f.Edges, e)
		sum += e.Strength
		if e.Strength > f.GapMs.Strength || len(f.Edges) == 1 {
			f.GapMs.Now, f.GapMs.Before, f.GapMs.Peers = e.Now, e.Before, e.Peers
		}
	}
	if len(f.Edges) > 0 {
		f.GapMs.Strength = sum / float64(len(f.Edges)+1)
	}
}

// score sets the service's own signals: against the baseline when there
// is one; without one, errors by their own share, capped, for that proves
// less (own time cannot be judged without a baseline).
func score(f *Finding, secNow, secBefore float64) {
	n, b := f.Now, f.Before
	f.SelfMs = Signal{Now: n.SelfMs(), Before: b.SelfMs()}
	f.ErrorRatio = Signal{Now: ratio(n.OwnErrors, n.Spans+n.Hops), Before: ratio(b.OwnErrors, b.Spans+b.Hops)}
	f.Rate = Signal{Now: n.Spans / secNow, Before: b.Spans / secBefore}
	if f.HasBaseline {
		if n.Spans >= minSpans && b.Spans >= minSpans {
			f.SelfMs.Strength = signals.Rise(f.SelfMs.Now, f.SelfMs.Before, 2) * support(min(n.Spans, b.Spans))
			f.Rate.Strength = signals.Rise(f.Rate.Now, f.Rate.Before, 0.5)
		}
		if n.OwnErrors >= 3 {
			f.ErrorRatio.Strength = signals.Rise(f.ErrorRatio.Now, f.ErrorRatio.Before, 0.01)
		}
		return
	}
	if n.OwnErrors >= 3 {
		f.ErrorRatio.Peers = true
		f.ErrorRatio.Strength = 0.5 * signals.Rise(f.ErrorRatio.Now, 0, 0.01)
	}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// covered is the part of r, in seconds, that the spans cover (from the
// first to the last): rates divide by it, so that a baseline whose data
// began late is not read as quiet.
func covered(stats []domain.SpanStats, r domain.TimeRange) float64 {
	first, last := r.End, r.Start
	for _, s := range stats {
		if s.Spans+s.Hops > 0 {
			first, last = min(first, s.FirstNano), max(last, s.LastNano)
		}
	}
	return max(float64(min(last, r.End)-max(first, r.Start))/1e9, 1)
}

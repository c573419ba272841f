// Package rca turns what the other agents found into ranked hypotheses:
// for every service, the evidence that points at it on its own (its own
// time and errors, the time calls into it spent on the way, its resources,
// new log templates) says how anomalous it is, and a change shortly before
// the onset says why. A degraded symptom is never itself the cause: a
// service slowed by its callee has no evidence of its own. Deterministic;
// an LLM may only narrate and reorder what this produces (llm/).
package rca

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/inquest/inquest/agents/changes"
	"github.com/inquest/inquest/agents/deptrace"
	"github.com/inquest/inquest/agents/resources"
	"github.com/inquest/inquest/agents/topology"
	"github.com/inquest/inquest/domain"
)

// Input is what the agents found about one window.
type Input struct {
	Window, Baseline domain.TimeRange
	// Trace is nil when there were no spans to read.
	Trace     *deptrace.Result
	Resources *resources.Result
	Changes   *changes.Result
	// Symptoms are the services an incident holds (may be empty).
	Symptoms []string
	// Focus narrows the candidates to a service and what it depends on.
	Focus string
	// Weights are the scoring model's constants (DefaultWeights when nil).
	Weights *Weights
}

// Evidence kinds.
const (
	KindLatency  = "latency"
	KindGap      = "network"
	KindErrors   = "errors"
	KindTraffic  = "traffic"
	KindResource = "resource"
	KindChange   = "change"
	KindLog      = "log"
	KindBubbleUp = "bubbleup"
)

// MaxHypotheses bounds the answer.
const MaxHypotheses = 5

type candidate struct {
	service  string
	evidence []domain.Evidence
	best     map[string]float64 // strongest evidence per kind
	change   *changes.Change
	peers    bool // its connection-gap evidence came from comparing with peers
	// silent is its strongest stopped log line whose requests went on:
	// its own code, like its latency and errors, that explains away its
	// callers' symptoms.
	silent float64
	score  float64
}

func (c *candidate) add(kind string, ev domain.Evidence) {
	if ev.Strength <= 0 {
		return
	}
	ev.Kind = kind
	c.evidence = append(c.evidence, ev)
	if ev.Strength > c.best[kind] {
		c.best[kind] = ev.Strength
	}
}

// Rank ranks the services by how well they explain the window.
func Rank(in Input) []domain.Hypothesis {
	w := DefaultWeights()
	if in.Weights != nil {
		w = *in.Weights
	}
	cands := map[string]*candidate{}
	get := func(s string) *candidate {
		c := cands[s]
		if c == nil {
			c = &candidate{service: s, best: map[string]float64{}}
			cands[s] = c
		}
		return c
	}
	var graph topology.Graph
	if in.Trace != nil {
		graph = in.Trace.Graph
		fromTrace(in, get)
	}
	if in.Resources != nil {
		fromResources(in, &w, get)
	}
	if in.Changes != nil {
		fromChanges(in, &w, get)
	}
	explainByLoad(cands, in.Trace, &w)
	explainAway(cands, in.Trace, &w)
	explainLogsByTraces(cands, in, &w)
	commonMode(cands, &w)
	allowed := focus(graph, in.Focus)
	var ranked []*candidate
	for _, c := range cands {
		if allowed != nil && !allowed[c.service] {
			continue
		}
		c.score = combine(c, &w)
		if c.score >= w.MinScore {
			ranked = append(ranked, c)
		}
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].score != ranked[j].score {
			return ranked[i].score > ranked[j].score
		}
		return ranked[i].service < ranked[j].service
	})
	if len(ranked) > MaxHypotheses {
		ranked = ranked[:MaxHypotheses]
	}
	marked := map[string]bool{}
	for _, s := range in.Symptoms {
		marked[s] = true
	}
	for _, c := range cands {
		if combine(c, &w) >= 0.3 {
			marked[c.service] = true
		}
	}
	out := make([]domain.Hypothesis, 0, len(ranked))
	for _, c := range ranked {
		out = append(out, hypothesis(c, graph, marked))
	}
	return out
}

// explainAway weakens a service's latency, errors and error logs by how
// strongly one of the services it calls is itself at fault: a caller
// slowed or failed by its callee looks like a fault of its own where the
// call is not traced (a span with no child), and logs what failed below
// it; a symptom is never the cause.
// Resources and changes stay: they are the caller's own.
func explainAway(cands map[string]*candidate, trace *deptrace.Result, w *Weights) {
	if trace == nil {
		return
	}
	// own is how much a callee is at fault apart from its connection
	// with the caller (that connection's gap is as much the caller's).
	own := func(callee, caller string) float64 {
		c := cands[callee]
		if c == nil {
			return 0
		}
		v := max(c.best[KindLatency], c.best[KindErrors], c.best[KindResource], c.silent)
		if f := trace.Finding(callee); f != nil {
			v = max(v, f.GapWithout(caller))
		}
		return v
	}
	for s, c := range cands {
		by, worst := "", 0.0
		for _, e := range trace.Graph.Edges {
			if e.Source != s || e.Target == s {
				continue
			}
			if v := own(e.Target, s); v > worst || (v == worst && e.Target < by) {
				by, worst = e.Target, v
			}
		}
		if worst < w.ExplainFrom {
			continue
		}
		f := 1 - w.ExplainWeight*worst
		c.best[KindLatency] *= f
		c.best[KindErrors] *= f
		c.best[KindLog] *= f
		for i := range c.evidence {
			if k := c.evidence[i].Kind; k == KindLatency || k == KindErrors || k == KindLog {
				c.evidence[i].Strength *= f
				c.evidence[i].Text += fmt.Sprintf(" (partly explained by %s, which it calls)", by)
			}
		}
	}
}

// explainLogsByTraces weakens a service's log evidence by the share of its
// error lines' traces in which a service it calls logged an error too: the
// error began below it and was logged again on the way up. Without a call
// graph, any other service's error in the trace counts.
func explainLogsByTraces(cands map[string]*candidate, in Input, w *Weights) {
	if in.Changes == nil {
		return
	}
	var graph topology.Graph
	if in.Trace != nil {
		graph = in.Trace.Graph
	}
	for svc, sl := range in.Changes.Services {
		c := cands[svc]
		if c == nil || len(sl.ErrorTraces) == 0 || c.best[KindLog] == 0 {
			continue
		}
		var below []*changes.ServiceLogs
		for other, ol := range in.Changes.Services {
			if other != svc && (len(graph.Edges) == 0 || calls(graph, svc, other)) {
				below = append(below, ol)
			}
		}
		shared := 0
		for tr := range sl.ErrorTraces {
			for _, ol := range below {
				if ol.ErrorTraces[tr] {
					shared++
					break
				}
			}
		}
		if shared == 0 {
			continue
		}
		f := 1 - w.LogExplained*float64(shared)/float64(len(sl.ErrorTraces))
		c.best[KindLog] *= f
		for i := range c.evidence {
			if c.evidence[i].Kind == KindLog {
				c.evidence[i].Strength *= f
				c.evidence[i].Text += fmt.Sprintf(" (%d of its %d error traces have an error logged by a service it calls)", shared, len(sl.ErrorTraces))
			}
		}
	}
}

// calls says whether a calls b directly.
func calls(g topology.Graph, a, b string) bool {
	for _, e := range g.Edges {
		if e.Source == a && e.Target == b {
			return true
		}
	}
	return false
}

// commonMode weakens evidence of a kind by how many other services show
// the same kind about as strongly: a sign that many services share at once
// (every pod's CPU a little up, every caller's latency up) is the shape of
// load, a shared node or the symptom spreading, and does not set one
// service apart. The fault's own sign is rare. Changes are left alone:
// two deploys are two suspects, not noise.
func commonMode(cands map[string]*candidate, w *Weights) {
	kinds := map[string][]float64{}
	for _, c := range cands {
		for k, v := range c.best {
			if k != KindChange && v > 0 {
				kinds[k] = append(kinds[k], v)
			}
		}
	}
	for _, c := range cands {
		for k, v := range c.best {
			if k == KindChange || v <= 0 {
				continue
			}
			peers := -1 // itself
			for _, o := range kinds[k] {
				if o >= w.CommonNear*v {
					peers++
				}
			}
			if peers <= 0 {
				continue
			}
			f := 1 / math.Pow(1+float64(peers), w.CommonPower)
			c.best[k] = v * f
			for i := range c.evidence {
				if c.evidence[i].Kind == k {
					c.evidence[i].Strength *= f
				}
			}
		}
	}
}

// explainByLoad weakens a service's resource and latency evidence by how
// far its own request rate rose: a service that got four times the
// requests is busy because of them. A surge is then named where it came
// in (the traffic evidence of an entry point), not where it hurt.
func explainByLoad(cands map[string]*candidate, trace *deptrace.Result, w *Weights) {
	if trace == nil {
		return
	}
	for _, f := range trace.Findings {
		c := cands[f.Service]
		load := f.Rate.Strength
		if c == nil || load < w.LoadFrom {
			continue
		}
		k := 1 - w.LoadWeight*load
		c.best[KindResource] *= k
		c.best[KindLatency] *= k
		for i := range c.evidence {
			if kind := c.evidence[i].Kind; kind == KindResource || kind == KindLatency {
				c.evidence[i].Strength *= k
				c.evidence[i].Text += fmt.Sprintf(" (while its requests rose %.1f×)", f.Rate.Now/max(f.Rate.Before, 1e-9))
			}
		}
	}
}

// combine scores a candidate: its own evidence combined as independent
// signs (noisy-or of the strongest of each kind), then a change shortly
// before the onset, which explains a symptom but is no symptom itself: a
// deploy of a healthy service scores at most 0.3.
func combine(c *candidate, w *Weights) float64 {
	miss := 1.0
	for kind, s := range c.best {
		if kind == KindChange {
			continue
		}
		miss *= 1 - w.Kind.of(kind)*s
	}
	symptom := 1 - miss
	change := c.best[KindChange]
	score := symptom + (1-symptom)*change*(w.ChangeBase+w.ChangeGain*symptom)
	if c.peers && c.strongest() == KindGap {
		score *= w.PeersFactor
	}
	return score
}

// strongest is the kind of the candidate's strongest evidence, a change
// aside (ties go to the kind named first in alphabetical order).
func (c *candidate) strongest() string {
	kind, best := "", 0.0
	for k, s := range c.best {
		if k != KindChange && (s > best || (s == best && k < kind)) {
			kind, best = k, s
		}
	}
	return kind
}

// cause names what the evidence says happened to the candidate.
func cause(c *candidate, graph topology.Graph) string {
	if c.change != nil && c.best[KindChange] >= 0.3 && c.score-c.best[KindChange]*0.3 > 0.1 {
		switch c.change.Type {
		case "deploy", "rollback", "release":
			return domain.CauseBadDeploy
		}
		return domain.CauseConfigChange
	}
	switch c.strongest() {
	case KindResource:
		return domain.CauseResourceSaturation
	case KindTraffic:
		return domain.CauseTrafficSurge
	case KindGap:
		return domain.CauseDependencyFailure
	case KindErrors, KindLog:
		if len(graph.Callers(c.service)) > 0 && isLeaf(graph, c.service) {
			return domain.CauseDependencyFailure
		}
		return domain.CauseCodeError
	case KindLatency:
		if len(graph.Callers(c.service)) > 0 {
			return domain.CauseDependencyFailure
		}
	}
	return domain.CauseUnknown
}

func isLeaf(g topology.Graph, s string) bool {
	for _, e := range g.Edges {
		if e.Source == s && e.Target != s {
			return false
		}
	}
	return true
}

// focus is the focus service and everything it calls, directly or not;
// nil when there is no focus.
func focus(g topology.Graph, service string) map[string]bool {
	if service == "" {
		return nil
	}
	in := map[string]bool{service: true}
	frontier := []string{service}
	for len(frontier) > 0 {
		var next []string
		for _, f := range frontier {
			for _, e := range g.Edges {
				if e.Source == f && !in[e.Target] {
					in[e.Target] = true
					next = append(next, e.Target)
				}
			}
		}
		frontier = next
	}
	return in
}

var causeWords = map[string]string{
	domain.CauseBadDeploy: "a bad deploy", domain.CauseConfigChange: "a configuration change",
	domain.CauseResourceSaturation: "resource saturation", domain.CauseTrafficSurge: "a traffic surge",
	domain.CauseDependencyFailure: "a failing or slow dependency", domain.CauseCodeError: "an error in its own code",
	domain.CauseUnknown: "an unknown cause",
}

func hypothesis(c *candidate, graph topology.Graph, marked map[string]bool) domain.Hypothesis {
	sort.SliceStable(c.evidence, func(i, j int) bool { return c.evidence[i].Strength > c.evidence[j].Strength })
	h := domain.Hypothesis{Service: c.service, Cause: cause(c, graph), Evidence: c.evidence}
	if c.change != nil && (h.Cause == domain.CauseBadDeploy || h.Cause == domain.CauseConfigChange) {
		e := c.change.Event
		h.Change = &domain.ChangeRef{Type: c.change.Type, AtNano: e.TimeUnixNano}
		h.Change.Version, _ = e.Attrs.Get("version")
		h.Change.PreviousVersion, _ = e.Attrs.Get("previous_version")
		h.Change.Key, _ = e.Attrs.Get("key")
	}
	h.Confidence = math.Round(math.Min(c.score, 0.95)*100) / 100
	if len(graph.Edges) > 0 {
		h.Path = graph.PathTo(c.service, marked)
		for _, u := range graph.Upstream(c.service) {
			if marked[u] {
				h.Affected = append(h.Affected, u)
			}
		}
	}
	h.Summary = Summarise(h)
	return h
}

// Summarise writes a hypothesis' paragraph from its evidence: the cause,
// the two strongest facts, the path and what it reaches.
func Summarise(h domain.Hypothesis) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s.", h.Service, causeWords[h.Cause])
	n := 0
	for _, e := range h.Evidence {
		if n == 3 {
			break
		}
		b.WriteString(" " + strings.TrimSuffix(e.Text, ".") + ".")
		n++
	}
	if len(h.Path) > 1 {
		fmt.Fprintf(&b, " Path: %s.", strings.Join(h.Path, " → "))
	}
	if len(h.Affected) > 0 {
		fmt.Fprintf(&b, " Reaches %s.", strings.Join(h.Affected, ", "))
	}
	if h.TrafficShare > 0 {
		fmt.Fprintf(&b, " %.0f%% of requests pass through it.", 100*h.TrafficShare)
	}
	return b.String()
}

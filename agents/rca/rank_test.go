package rca

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/changes"
	"github.com/inquest/inquest/agents/deptrace"
	"github.com/inquest/inquest/agents/resources"
	"github.com/inquest/inquest/agents/topology"
	"github.com/inquest/inquest/domain"
)

func services(hs []domain.Hypothesis) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Service)
	}
	return out
}

// TestCommonSignsFade: five pods' CPU a little up at once is load or a
// node, and one service logging a new error sets itself apart; with the
// common-mode discount off (a weight), the CPU would win.
func TestCommonSignsFade(t *testing.T) {
	in := Input{Resources: &resources.Result{}, Changes: &changes.Result{}}
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		in.Resources.Findings = append(in.Resources.Findings, resources.Finding{Service: s, Kind: resources.CPU, Metric: "cpu", Z: 12, Strength: 0.9})
	}
	in.Changes.Templates = []changes.LogTemplate{{Service: "z", Template: "order <*> rejected", Now: 6, Errors: true, New: true, Strength: 0.7}}
	got := services(Rank(in))
	require.NotEmpty(t, got)
	assert.Equal(t, "z", got[0], "%v", got)

	w := DefaultWeights()
	w.CommonPower = 0
	in.Weights = &w
	assert.NotEqual(t, "z", services(Rank(in))[0], "without the discount a shared sign wins")
}

// TestErrorsPassedUpAreTheCallees: a caller and its callee both log
// errors, in the same traces; the callee's are where they began.
func TestErrorsPassedUpAreTheCallees(t *testing.T) {
	traces := map[string]bool{"t1": true, "t2": true, "t3": true, "t4": true}
	in := Input{
		Trace: &deptrace.Result{Graph: topology.Graph{Edges: []domain.ServiceEdge{{Source: "front", Target: "cart", Calls: 100}}}},
		Changes: &changes.Result{Services: map[string]*changes.ServiceLogs{
			"front": {Lines: 100, Errors: 40, LinesBefore: 100, ErrorTraces: traces},
			"cart":  {Lines: 100, Errors: 20, LinesBefore: 100, ErrorTraces: traces},
		}},
	}
	hs := Rank(in)
	require.NotEmpty(t, hs)
	assert.Equal(t, "cart", hs[0].Service, "%v", services(hs))
	for _, h := range hs {
		if h.Service == "front" {
			assert.Contains(t, h.Evidence[0].Text, "4 of its 4 error traces have an error logged by a service it calls")
		}
	}

	// Errors in traces of their own are the caller's.
	in.Changes.Services["front"].ErrorTraces = map[string]bool{"t9": true}
	assert.Equal(t, "front", Rank(in)[0].Service)
}

// TestPeersDiscountOnlyTheStrongest: a service whose strongest sign is its
// own CPU against its own past keeps its score when a weaker sign of it
// (a connection gap) had no baseline and was judged against peers; one
// whose strongest sign is that peer comparison is discounted.
func TestPeersDiscountOnlyTheStrongest(t *testing.T) {
	in := Input{
		Trace: &deptrace.Result{Findings: []*deptrace.Finding{
			{Service: "own", GapMs: deptrace.Signal{Now: 30, Before: 3, Strength: 0.3, Peers: true}},
			{Service: "peer", GapMs: deptrace.Signal{Now: 30, Before: 3, Strength: 0.7, Peers: true}},
		}},
		Resources: &resources.Result{Findings: []resources.Finding{{Service: "own", Kind: resources.CPU, Metric: "cpu", Z: 40, Strength: 0.7}}},
	}
	score := map[string]float64{}
	for _, h := range Rank(in) {
		score[h.Service] = h.Confidence
	}
	w := DefaultWeights()
	assert.GreaterOrEqual(t, score["own"], 0.7, "not discounted below its own CPU: its strongest sign is its own")
	assert.InDelta(t, 0.7*w.PeersFactor, score["peer"], 0.01, "discounted: its strongest sign came from peers")
}

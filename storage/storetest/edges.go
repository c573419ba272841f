package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// edgeTraces are traces over six minutes, frontend → checkout → payment →
// postgres (a peer without spans), some crossing a minute, and what their
// edges are, worked out here span by span.
func edgeTraces(tenant string, seed uint64) ([]domain.Event, map[[2]string][]float64, map[[2]string]float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var evs []domain.Event
	durs := map[[2]string][]float64{}
	errs := map[[2]string]float64{}
	span := func(tr, id, parent, svc string, at int64, ms float64, st domain.Status) domain.Event {
		e := Span(tenant, svc, svc+" op", at, ms, st)
		e.TraceID, e.SpanID, e.ParentSpanID = tr, id, parent
		return e
	}
	for i := 0; i < 300; i++ {
		tr := fmt.Sprintf("%032x", seed*1000+uint64(i))
		at := base + int64(i)*int64(1200*time.Millisecond) // 6 minutes
		fe := span(tr, "f", "", "frontend", at, 400, domain.StatusOK)
		coMs := 20 + rng.Float64()*300
		co := span(tr, "c", "f", "checkout", at+int64(time.Millisecond), coMs, domain.StatusOK)
		payMs := 5 + rng.Float64()*100
		st := domain.StatusOK
		if rng.Float64() < 0.1 {
			st = domain.StatusError
		}
		pay := span(tr, "p", "c", "payment", at+int64(50*time.Millisecond), payMs, st)
		db := span(tr, "q", "p", "payment", at+int64(60*time.Millisecond), 2+rng.Float64()*5, domain.StatusOK)
		db.Attrs.Put("peer.service", "postgres")
		for _, e := range []*domain.Event{&fe, &co, &pay, &db} {
			e.ID = e.ContentHash()
		}
		evs = append(evs, fe, co, pay, db)
		for _, e := range []struct {
			src, dst string
			ms       float64
			st       domain.Status
		}{{"frontend", "checkout", coMs, domain.StatusOK}, {"checkout", "payment", payMs, st}, {"payment", "postgres", float64(db.DurationNano) / 1e6, domain.StatusOK}} {
			k := [2]string{e.src, e.dst}
			durs[k] = append(durs[k], e.ms)
			if e.st == domain.StatusError {
				errs[k]++
			}
		}
	}
	return evs, durs, errs
}

// testEdgeFolding: the map read from folded minutes is the map joined live
// and the one worked out span by span (p99 within a bucket), over whole
// minutes and partial ones; a write into a folded minute shows at once;
// tenants stay apart.
func testEdgeFolding(t *testing.T, s storage.EventStore) {
	folder, ok := s.(storage.EdgeFolder)
	if !ok {
		t.Skip("the store keeps no per-minute edges")
	}
	ctx := context.Background()
	evs, durs, errs := edgeTraces("t1", 1)
	other, _, _ := edgeTraces("t2", 1) // same trace and span IDs, another tenant
	require.NoError(t, s.WriteEvents(ctx, append(evs, other[:40]...)))

	check := func(what string, r domain.TimeRange) []domain.ServiceEdge {
		t.Helper()
		edges, err := s.ServiceMap(ctx, "t1", r)
		require.NoError(t, err, what)
		require.Len(t, edges, 3, what)
		for _, e := range edges {
			k := [2]string{e.Source, e.Target}
			assert.Equal(t, float64(len(durs[k])), e.Calls, "%s: calls %v", what, k)
			assert.Equal(t, errs[k], e.Errors, "%s: errors %v", what, k)
			require.NotNil(t, e.P99Ms, what)
			want := exactP99(durs[k])
			assert.InEpsilon(t, want, *e.P99Ms, 0.1, "%s: p99 %v", what, k)
		}
		return edges
	}
	live := check("joined live", all())
	n, err := folder.FoldEdges(ctx, time.Now().Add(time.Hour).UnixNano())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, 6, "six minutes and their neighbours folded")
	folded := check("read from folded minutes", all())
	assert.Equal(t, live, folded, "the same map either way")
	n, err = folder.FoldEdges(ctx, time.Now().Add(time.Hour).UnixNano())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to fold")

	// Partial minutes at both ends: 90 s to 270 s after base, traces
	// whose checkout span starts in it.
	part := domain.TimeRange{Start: base + int64(90*time.Second), End: base + int64(270*time.Second)}
	edges, err := s.ServiceMap(ctx, "t1", part)
	require.NoError(t, err)
	calls := map[[2]string]float64{}
	for _, e := range edges {
		calls[[2]string{e.Source, e.Target}] = e.Calls
	}
	assert.Equal(t, 150.0, calls[[2]string{"frontend", "checkout"}], "traces 75 to 224 start in the range")

	// A late span in a folded minute counts at once.
	late := Span("t1", "cart", "cart op", base+int64(30*time.Second), 3, domain.StatusError)
	late.TraceID, late.SpanID, late.ParentSpanID = fmt.Sprintf("%032x", 1000), "k", "c"
	late.ID = late.ContentHash()
	require.NoError(t, s.WriteEvents(ctx, []domain.Event{late}))
	edges, err = s.ServiceMap(ctx, "t1", all())
	require.NoError(t, err)
	require.Len(t, edges, 4)
	assert.Equal(t, domain.ServiceEdge{Source: "checkout", Target: "cart", Calls: 1, Errors: 1, P99Ms: edges[0].P99Ms}, edges[0])
	_, err = folder.FoldEdges(ctx, time.Now().Add(time.Hour).UnixNano())
	require.NoError(t, err)
	again, err := s.ServiceMap(ctx, "t1", all())
	require.NoError(t, err)
	assert.Equal(t, edges, again, "and after it is folded")

	t2, err := s.ServiceMap(ctx, "t2", all())
	require.NoError(t, err)
	require.NotEmpty(t, t2)
	for _, e := range t2 {
		assert.LessOrEqual(t, e.Calls, 10.0, "t2 wrote ten traces; t1's do not leak into it")
	}
}

func exactP99(ms []float64) float64 {
	v := append([]float64(nil), ms...)
	sort.Float64s(v)
	// The nearest rank: the bucketed quantile is one too.
	return v[int(math.Ceil(0.99*float64(len(v))))-1]
}

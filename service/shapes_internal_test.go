package service

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

// TestWaterfall: spans in tree order, children by start, depth and offset
// from the trace's start; a span whose parent is missing is a root; a
// cycle in bad data ends.
func TestWaterfall(t *testing.T) {
	spans := []domain.Event{
		{SpanID: "c2", ParentSpanID: "r", Service: "payment", TimeUnixNano: 130, DurationNano: 10, Status: domain.StatusError},
		{SpanID: "r", Service: "frontend", TimeUnixNano: 100, DurationNano: 100},
		{SpanID: "c1", ParentSpanID: "r", Service: "checkout", TimeUnixNano: 110, DurationNano: 20},
		{SpanID: "g", ParentSpanID: "c1", Service: "payment", TimeUnixNano: 115, DurationNano: 5},
		{SpanID: "o", ParentSpanID: "lost", Service: "mail", TimeUnixNano: 250, DurationNano: 10},
		{SpanID: "x", ParentSpanID: "y", Service: "loop", TimeUnixNano: 300, DurationNano: 1},
		{SpanID: "y", ParentSpanID: "x", Service: "loop", TimeUnixNano: 301, DurationNano: 1},
	}
	tr := waterfall("t1", spans)
	var order []string
	var depth []int
	for _, s := range tr.Spans {
		order, depth = append(order, s.Span.SpanID), append(depth, s.Depth)
	}
	assert.Equal(t, []string{"r", "c1", "g", "c2", "o"}, order[:5])
	assert.Equal(t, []int{0, 1, 2, 1, 0}, depth[:5])
	assert.LessOrEqual(t, len(tr.Spans), len(spans), "each span once, a cycle included")
	assert.Equal(t, int64(0), tr.Spans[0].OffsetNano)
	assert.Equal(t, int64(15), tr.Spans[2].OffsetNano)
	assert.Equal(t, 1, tr.ErrorCount)
	assert.Equal(t, []string{"payment", "frontend", "checkout", "mail", "loop"}, tr.Services, "each service once, in the order met")
	require.NotNil(t, tr.Root)
	assert.Equal(t, "r", tr.Root.SpanID)
	assert.Equal(t, int64(100), tr.StartNano)
	assert.Equal(t, int64(202), tr.DurationNs)
}

// TestServiceMapPeers: a callee that sends no spans of its own (a
// database, a third-party API) is a node too, with the calls made to it.
func TestServiceMapPeers(t *testing.T) {
	p99a, p99b := 20.0, 35.0
	m := serviceMap([]domain.ServiceSummary{{Name: "checkout", SpanCount: 100, Seconds: 60}},
		[]domain.ServiceEdge{
			{Source: "checkout", Target: "postgres", Calls: 40, Errors: 1, P99Ms: &p99a},
			{Source: "frontend", Target: "postgres", Calls: 10, P99Ms: &p99b},
			{Source: "frontend", Target: "checkout", Calls: 100},
		})
	require.Len(t, m.Nodes, 2)
	pg := m.Nodes[1]
	assert.True(t, pg.External)
	assert.Equal(t, "postgres", pg.Name)
	assert.Equal(t, 50.0, pg.SpanCount)
	assert.Equal(t, 1.0, pg.ErrorCount)
	assert.Equal(t, 35.0, *pg.P99Ms, "the worst caller's p99")
	assert.Equal(t, 60.0, pg.Seconds)
	assert.False(t, m.Nodes[0].External)
}

// TestFilters: the query model's conditions from a face's input, each
// mistake named.
func TestFilters(t *testing.T) {
	v := func(s string) *string { return &s }
	got, err := Filters([]Filter{{Field: "service", Op: domain.OpEq, Value: v("payment")},
		{Field: "attr.http.route", Op: domain.OpIn, Values: []string{"/a", "/b"}},
		{Field: "duration_ms", Op: domain.OpGt, Value: v("250")}})
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, domain.OpIn, got[1].Op)

	for _, bad := range []Filter{
		{Field: "", Op: domain.OpEq, Value: v("x")},
		{Field: "service", Op: "~~", Value: v("x")},
		{Field: "service", Op: domain.OpIn},
		{Field: "duration_ms", Op: domain.OpGt, Value: v("slow")},
	} {
		_, err := Filters([]Filter{bad})
		assert.Error(t, err, "%+v", bad)
		assert.Equal(t, KindInvalid, KindOf(err), "%+v: %v", bad, err)
	}
}

package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// testResources: spans of three processes (payment 2.3.0 on h1, payment
// 2.3.1 on h2, and the same attributes as the first in another tenant),
// written in two batches so that a resource comes again after it is
// stored, plus spans with no resource at all. Every read that shows
// resource attributes shows each span's own, once: counts by and filters
// on them, the events and traces they come back on, and BubbleUp.
func testResources(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	proc := func(version, host string) domain.Attrs {
		var a domain.Attrs
		a.Put("service.name", "payment")
		a.Put("service.version", version)
		a.Put("host.name", host)
		return a
	}
	oldRes, newRes := proc("2.3.0", "h1"), proc("2.3.1", "h2")
	var first, second []domain.Event
	for i := 0; i < 40; i++ {
		slow := i%4 == 0
		dur, res := 20.0, oldRes
		if slow {
			dur, res = 1500, newRes
		}
		e := Span("t1", "payment", "charge", base+int64(i)*1e9, dur, domain.StatusOK)
		e.TraceID, e.SpanID = "trace-res", "s"+string(rune('a'+i%26))+string(rune('a'+i/26))
		e.Resource = res
		e.ID = e.ContentHash()
		other := Span("t2", "payment", "charge", base+int64(i)*1e9, 20, domain.StatusOK)
		other.Resource = oldRes
		other.ID = other.ContentHash()
		bare := Span("t1", "cron", "tick", base+int64(i)*1e9, 5, domain.StatusOK)
		if i < 20 {
			first = append(first, e, other, bare)
		} else {
			second = append(second, e, other, bare)
		}
	}
	require.NoError(t, s.WriteEvents(ctx, first))
	require.NoError(t, s.WriteEvents(ctx, second))

	host := domain.Field{Kind: domain.FieldResource, Name: "host.name"}
	version := domain.Field{Kind: domain.FieldResource, Name: "service.version"}
	res, err := s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: all(), GroupBy: []domain.Field{host}})
	require.NoError(t, err)
	counts := map[string]float64{}
	for _, r := range res.Rows {
		counts[key(r.Keys[0])] = val(r.Values[0])
	}
	assert.Equal(t, map[string]float64{"h1": 30, "h2": 10, "<nil>": 40}, counts, "each span counted once, under its own resource")

	res, err = s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: all(),
		Filters: []domain.Filter{{Field: version, Op: domain.OpEq, Value: "2.3.1"}}})
	require.NoError(t, err)
	require.Len(t, res.Rows, 1)
	assert.Equal(t, 10.0, val(res.Rows[0].Values[0]))
	res, err = s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: all(),
		Filters: []domain.Filter{{Field: host, Op: domain.OpNotExists}}})
	require.NoError(t, err)
	require.Len(t, res.Rows, 1)
	assert.Equal(t, 40.0, val(res.Rows[0].Values[0]), "the spans without a resource")
	res, err = s.Aggregate(ctx, domain.Query{Tenant: "t2", Range: all(), GroupBy: []domain.Field{version}})
	require.NoError(t, err)
	require.Len(t, res.Rows, 1, "another tenant's resources are not this one's")
	assert.Equal(t, "2.3.0", key(res.Rows[0].Keys[0]))
	assert.Equal(t, 40.0, val(res.Rows[0].Values[0]))

	page, err := s.Events(ctx, domain.EventQuery{Tenant: "t1", Range: all(), Limit: 1000})
	require.NoError(t, err)
	require.Len(t, page.Events, 80)
	for _, e := range page.Events {
		if e.Service == "cron" {
			assert.Empty(t, e.Resource.Keys, "no resource attributes")
			continue
		}
		want := oldRes
		if e.DurationNano > 1e9 {
			want = newRes
		}
		assert.Equal(t, want.Keys, e.Resource.Keys, "in the order sent")
		assert.Equal(t, want.Values, e.Resource.Values)
	}
	spans, err := s.Trace(ctx, "t1", "trace-res")
	require.NoError(t, err)
	require.Len(t, spans, 40)
	v, _ := spans[0].Resource.Get("service.version")
	assert.Equal(t, "2.3.1", v, "the first span is a slow one")

	c, err := s.BubbleUp(ctx, domain.BubbleUpQuery{Tenant: "t1", Range: all(),
		Scope:     []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: "payment"}},
		Selection: []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "duration_ms"}, Op: domain.OpGt, Value: "1000"}}})
	require.NoError(t, err)
	assert.Equal(t, 10.0, c.Selection)
	assert.Equal(t, 30.0, c.Baseline)
	top := c.Rank(10, 3)
	require.NotEmpty(t, top.Fields)
	fields := map[string]string{}
	for _, f := range top.Fields {
		fields[f.Field] = f.Values[0].Value
	}
	assert.Equal(t, "2.3.1", fields["res.service.version"], "%+v", top.Fields)
	assert.Equal(t, "h2", fields["res.host.name"], "%+v", top.Fields)
}

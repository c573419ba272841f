package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// testTraces lists traces: one row per trace, newest first, with the
// trace's services, spans, errors, duration and root, whichever of its
// spans matched; a trace whose root was not sent is named by its first
// span; logs carrying a trace id do not make a trace; other tenants'
// traces are not seen.
func testTraces(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	span := func(tenant, trace, svc, id, parent string, at int64, dur float64, st domain.Status) domain.Event {
		e := Span(tenant, svc, svc+" op", at, dur, st)
		e.TraceID, e.SpanID, e.ParentSpanID = trace, id, parent
		e.ID = e.ContentHash()
		return e
	}
	const a, b, c = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccc"
	evs := []domain.Event{
		span("t1", a, "frontend", "a1", "", base, 100, domain.StatusOK),
		span("t1", a, "checkout", "a2", "a1", base+10e6, 80, domain.StatusOK),
		span("t1", a, "payment", "a3", "a2", base+20e6, 50, domain.StatusError),
		span("t1", a, "checkout", "a4", "a2", base+75e6, 30, domain.StatusOK), // ends last: base+105 ms
		span("t1", b, "api", "b1", "", base+1e9, 950, domain.StatusOK),
		span("t1", b, "search", "b2", "b1", base+1e9+5e6, 900, domain.StatusOK),
		span("t1", c, "checkout", "c2", "c1", base+2e9, 10, domain.StatusOK), // c1 was never sent
		span("t1", c, "cart", "c3", "c2", base+2e9+1e6, 5, domain.StatusOK),
		span("t2", a, "other", "x1", "", base+3e9, 1, domain.StatusOK),
	}
	log := Span("t1", "api", "a log line", base+4e9, 0, domain.StatusOK)
	log.Kind, log.TraceID, log.DurationNano = domain.KindLog, "dddddddddddddddddddddddddddddddd", 0
	log.ID = log.ContentHash()
	evs = append(evs, log)
	require.NoError(t, s.WriteEvents(ctx, evs))
	flush(t, s)

	list := func(filters ...domain.Filter) []domain.TraceSummary {
		t.Helper()
		out, err := s.Traces(ctx, domain.TraceQuery{Tenant: "t1", Range: all(), Filters: filters})
		require.NoError(t, err)
		return out
	}
	got := list()
	require.Len(t, got, 3, "one row per trace, logs make none")
	assert.Equal(t, []string{c, b, a}, []string{got[0].TraceID, got[1].TraceID, got[2].TraceID}, "newest first")

	got = list(domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: "payment"})
	require.Len(t, got, 1)
	assert.Equal(t, domain.TraceSummary{TraceID: a, StartNano: base, DurationNano: 105e6, Services: []string{"checkout", "frontend", "payment"},
		Spans: 4, Errors: 1, RootService: "frontend", RootName: "frontend op"}, got[0], "summed up from all its spans, not the matching one")

	got = list(domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "duration_ms"}, Op: domain.OpGt, Value: "500"})
	require.Len(t, got, 1)
	assert.Equal(t, b, got[0].TraceID)
	assert.Equal(t, int64(950e6), got[0].DurationNano)

	got = list(domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: "cart"})
	require.Len(t, got, 1)
	assert.Equal(t, "checkout", got[0].RootService, "no root sent: the first span names it")
	assert.Equal(t, "checkout op", got[0].RootName)

	one, err := s.Traces(ctx, domain.TraceQuery{Tenant: "t1", Range: all(), Limit: 1})
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, c, one[0].TraceID)

	other, err := s.Traces(ctx, domain.TraceQuery{Tenant: "t2", Range: all()})
	require.NoError(t, err)
	require.Len(t, other, 1)
	assert.Equal(t, []string{"other"}, other[0].Services, "a trace id shared with another tenant shows only the tenant's own spans")
	_, err = s.Traces(ctx, domain.TraceQuery{Range: all()})
	assert.Error(t, err, "an empty tenant is refused, not a wildcard")
}

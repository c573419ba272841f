package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// testSpanStats checks that a service's own time and errors leave out
// what its callees did, and that a client span's time beyond its callee's
// span counts to the callee as the gap of a hop.
func testSpanStats(t *testing.T, s storage.EventStore) {
	ctx := t.Context()
	mk := func(tenant, svc, id, parent string, at int64, dur float64, st domain.Status) domain.Event {
		e := Span(tenant, svc, svc+" op", at, dur, st)
		e.TraceID, e.SpanID, e.ParentSpanID = "4bf92f3577b34da6a3ce929d0e0e4736", id, parent
		e.SampleRate = 2
		e.ID = e.ContentHash()
		return e
	}
	evs := []domain.Event{
		mk("t1", "frontend", "a1", "", base, 100, domain.StatusOK),
		mk("t1", "frontend", "a2", "a1", base+1e6, 60, domain.StatusError), // a client span: a hop into payment
		mk("t1", "payment", "b1", "a2", base+2e6, 50, domain.StatusError),
		mk("t1", "payment", "b2", "b1", base+3e6, 10, domain.StatusOK),
		mk("t2", "payment", "c1", "", base, 999, domain.StatusError), // another tenant's
	}
	require.NoError(t, s.WriteEvents(ctx, evs))
	rows, err := s.SpanStats(ctx, "t1", all())
	require.NoError(t, err)
	var edges []string
	for _, r := range rows {
		if r.Caller != "" {
			edges = append(edges, r.Caller+">"+r.Service)
		}
	}
	assert.Equal(t, []string{"frontend>payment"}, edges, "the hop's row names its caller")
	stats := domain.Merge(rows)
	byService := map[string]domain.SpanStats{}
	for _, st := range stats {
		byService[st.Service] = st
	}
	require.Len(t, byService, 2, "%+v", stats)
	fe, pay := byService["frontend"], byService["payment"]
	assert.Equal(t, 2.0, fe.Spans, "the client span is a hop, not frontend's own")
	assert.Equal(t, 0.0, fe.Errors, "the failed call is payment's")
	assert.InDelta(t, 40, fe.SelfMs(), 1e-9, "100 ms less the 60 ms call")
	assert.Equal(t, 0.0, fe.Hops)
	assert.Equal(t, 4.0, pay.Spans)
	assert.Equal(t, 2.0, pay.Errors)
	assert.Equal(t, 2.0, pay.OwnErrors, "b1 failed with no failed child; a2 failed because b1 did")
	assert.InDelta(t, 25, pay.SelfMs(), 1e-9, "(40 + 10) / 2")
	assert.Equal(t, 2.0, pay.Hops)
	assert.InDelta(t, 10, pay.GapMs(), 1e-9, "60 ms call, 50 ms span")
}

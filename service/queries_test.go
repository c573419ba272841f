package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/storage"
)

// spans stores a trace of checkout → payment per request, n requests, the
// last errors of them failing in payment with a timeout; and error logs.
func (r *rig) spans(n, errors int) {
	r.t.Helper()
	var es []domain.Event
	for i := range n {
		at := r.now.Add(-time.Duration(n-i) * time.Second).UnixNano()
		trace := fmt.Sprintf("%032x", i+1)
		status := domain.StatusOK
		child := domain.Event{Tenant: "t1", Kind: domain.KindSpan, Service: "payment", Name: "charge", TraceID: trace,
			SpanID: fmt.Sprintf("%016x", 2*i+2), ParentSpanID: fmt.Sprintf("%016x", 2*i+1), TimeUnixNano: at + 1e6, DurationNano: 5e6}
		child.Attrs.Put("cloud.region", "us-east")
		if i >= n-errors {
			child.Attrs.Put("cloud.region", "eu-west")
			status = domain.StatusError
			child.Status = domain.StatusError
			child.Attrs.Put("exception.message", fmt.Sprintf("timeout after %d ms", 100+i))
		}
		es = append(es, domain.Event{Tenant: "t1", Kind: domain.KindSpan, Service: "checkout", Name: "POST /checkout", TraceID: trace,
			SpanID: fmt.Sprintf("%016x", 2*i+1), TimeUnixNano: at, DurationNano: 10e6, Status: status}, child)
	}
	es = append(es, domain.Event{Tenant: "t1", Kind: domain.KindLog, Service: "payment", Severity: "ERROR", Body: "card declined for order 42",
		TimeUnixNano: r.now.Add(-2 * time.Second).UnixNano()})
	for i := range es {
		es[i].SampleRate = 1 // as the pipeline sets it
	}
	require.NoError(r.t, r.store.WriteEvents(r.ctx, es))
}

func str(s string) *string { return &s }

func TestEventsAndTraces(t *testing.T) {
	r := newRig(t)
	r.spans(20, 4)
	viewer := as("val", auth.RoleViewer)
	first := 5
	page, err := r.svc.Events(r.ctx, viewer, service.EventsInput{Range: lastHour,
		Filters: []service.Filter{{Field: "service", Op: domain.OpEq, Value: str("payment")}}, First: &first})
	require.NoError(t, err)
	assert.Len(t, page.Events, 5)
	require.NotNil(t, page.Next, "more pages")

	_, err = r.svc.Events(r.ctx, viewer, service.EventsInput{Range: lastHour,
		Filters: []service.Filter{{Field: "attr.", Op: domain.OpEq, Value: str("x")}}})
	require.ErrorIs(t, err, service.ErrInvalid, "a bad field names what is wrong")
	_, err = r.svc.Events(r.ctx, viewer, service.EventsInput{Range: service.Range{From: "yesterday-ish", To: "now"}})
	require.ErrorIs(t, err, service.ErrInvalid)
	assert.Contains(t, err.Error(), "range")
	big := domain.MaxPageSize + 1
	_, err = r.svc.Events(r.ctx, viewer, service.EventsInput{Range: lastHour, First: &big})
	require.ErrorIs(t, err, service.ErrInvalid)

	tr, err := r.svc.Trace(r.ctx, viewer, fmt.Sprintf("%032x", 20))
	require.NoError(t, err)
	assert.Len(t, tr.Spans, 2)
	_, err = r.svc.Trace(r.ctx, viewer, fmt.Sprintf("%032x", 999))
	require.ErrorIs(t, err, service.ErrNotFound)
	_, err = r.svc.Trace(r.ctx, of("t2", auth.RoleAdmin), fmt.Sprintf("%032x", 20))
	require.ErrorIs(t, err, service.ErrNotFound, "another tenant's trace is not there")
	_, err = r.svc.Trace(r.ctx, viewer, "")
	require.ErrorIs(t, err, service.ErrInvalid)
}

func TestAggregateAndServices(t *testing.T) {
	r := newRig(t)
	r.spans(20, 4)
	viewer := as("val", auth.RoleViewer)
	agg, err := r.svc.Aggregate(r.ctx, viewer, service.AggregateInput{Range: lastHour, GroupBy: []string{"service"},
		Aggregations: []service.Aggregation{{Op: domain.AggCount}}})
	require.NoError(t, err)
	require.Len(t, agg.Result.Rows, 2, "checkout and payment")

	_, err = r.svc.Aggregate(r.ctx, viewer, service.AggregateInput{Range: lastHour,
		Aggregations: []service.Aggregation{{Op: domain.AggSum, Field: str("service")}}})
	require.ErrorIs(t, err, service.ErrInvalid)
	assert.Contains(t, err.Error(), "not numeric")

	svcs, err := r.svc.Services(r.ctx, viewer, lastHour)
	require.NoError(t, err)
	assert.Len(t, svcs, 2)
	m, err := r.svc.ServiceMap(r.ctx, viewer, lastHour)
	require.NoError(t, err)
	assert.NotEmpty(t, m.Nodes)
}

// TestErrorGroups: failures grouped by template, counted, newest examples;
// the logs' errors beside the spans'.
func TestErrorGroups(t *testing.T) {
	r := newRig(t)
	r.spans(20, 4)
	got, err := r.svc.ErrorGroups(r.ctx, as("val", auth.RoleViewer), service.ErrorGroupsInput{Range: lastHour})
	require.NoError(t, err)
	require.True(t, got.Full)
	var byKind = map[string]service.ErrorGroup{}
	for _, g := range got.Groups {
		byKind[g.Service+" "+g.Kind] = g
	}
	pay := byKind["payment span"]
	assert.Equal(t, 4.0, pay.Count, "the four timeouts are one template")
	assert.Contains(t, pay.Template, "charge: timeout after <num> ms")
	assert.Equal(t, 4.0, byKind["checkout span"].Count)
	assert.Equal(t, 1.0, byKind["payment log"].Count)
	assert.Equal(t, 9, got.Read)

	few, err := r.svc.ErrorGroups(r.ctx, as("val", auth.RoleViewer), service.ErrorGroupsInput{Range: lastHour, Service: "payment", Max: 2})
	require.NoError(t, err)
	assert.False(t, few.Full, "cut at Max, and says so")

	_, err = r.svc.ErrorGroups(r.ctx, as("nobody", "ingest"), service.ErrorGroupsInput{Range: lastHour})
	require.ErrorIs(t, err, service.ErrForbidden)
}

// costly is an event store that stops every query as too costly.
type costly struct{ storage.EventStore }

func (costly) Aggregate(context.Context, domain.Query) (*domain.AggregateResult, error) {
	return nil, fmt.Errorf("clickhouse: %w", storage.ErrTooCostly)
}

func (costly) Events(context.Context, domain.EventQuery) (*domain.EventPage, error) {
	return nil, fmt.Errorf("read: %w", storage.ErrConflict)
}

// TestStoreErrorsBecomeKinds: the one mapping, seen from a face.
func TestStoreErrorsBecomeKinds(t *testing.T) {
	svc := service.New(service.Config{}, service.Deps{Events: costly{}}, nil)
	_, err := svc.Aggregate(context.Background(), as("val", auth.RoleViewer), service.AggregateInput{Range: lastHour,
		Aggregations: []service.Aggregation{{Op: domain.AggCount}}})
	require.ErrorIs(t, err, service.ErrUnavailable)
	assert.Contains(t, err.Error(), "narrow the time range")
	require.ErrorIs(t, err, storage.ErrTooCostly, "the cause is kept for errors.Is")

	_, err = svc.Events(context.Background(), as("val", auth.RoleViewer), service.EventsInput{Range: lastHour})
	require.ErrorIs(t, err, service.ErrConflict)
}

// TestRecordChangeNeedsIntake: a change is recorded through the ingest
// pipeline (as any event is); a process without one says so.
func TestRecordChangeNeedsIntake(t *testing.T) {
	r := newRig(t)
	_, err := r.svc.RecordChange(r.ctx, as("val", auth.RoleViewer), service.ChangeInput{Service: "payment", Type: "deploy"})
	require.ErrorIs(t, err, service.ErrForbidden)
	_, err = r.svc.RecordChange(r.ctx, as("ann", auth.RoleResponder), service.ChangeInput{Service: "payment", Type: "deploy"})
	require.ErrorIs(t, err, service.ErrUnavailable)
}

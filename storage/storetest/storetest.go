// Package storetest is the conformance suite every storage backend runs:
// the same data in, the same answers out, and no tenant ever sees another's
// rows.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// Opener returns a fresh, empty store for one subtest.
type Opener func(t *testing.T) storage.Store

// EventOpener, MetricOpener: the same for a backend that implements only one
// part (ClickHouse holds events, VictoriaMetrics metrics).
type (
	EventOpener  func(t *testing.T) storage.EventStore
	MetricOpener func(t *testing.T) storage.MetricStore
)

// base is the start of the test data, whole minutes so buckets align.
var base = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC).UnixNano()

// Run runs the whole suite on a backend that implements everything.
func Run(t *testing.T, open Opener) {
	RunEvents(t, func(t *testing.T) storage.EventStore { return open(t) })
	RunMetrics(t, func(t *testing.T) storage.MetricStore { return open(t) })
	t.Run("DeadLetters", func(t *testing.T) { testDeadLetters(t, open(t)) })
	t.Run("DeadLetterIsolation", func(t *testing.T) { testDeadLetterIsolation(t, open(t)) })
	t.Run("APIKeys", func(t *testing.T) { testAPIKeys(t, open(t)) })
	t.Run("Usage", func(t *testing.T) { testUsage(t, open(t)) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open(t)) })
	t.Run("AnomaliesAndIncidents", func(t *testing.T) { testIncidents(t, open(t)) })
	t.Run("Rules", func(t *testing.T) { testRules(t, open(t)) })
	t.Run("Investigations", func(t *testing.T) { testInvestigations(t, open(t)) })
	t.Run("Proposals", func(t *testing.T) { testProposals(t, open(t)) })
}

// RunIncidents runs the anomaly and incident part of the suite, for
// stores that keep only those (Redis in a scaled deployment).
func RunIncidents(t *testing.T, open func(t *testing.T) storage.IncidentStore) {
	t.Run("AnomaliesAndIncidents", func(t *testing.T) { testIncidents(t, open(t)) })
}

// RunProposals runs the proposal part of the suite, for stores that keep
// only those (Redis in a scaled deployment).
func RunProposals(t *testing.T, open func(t *testing.T) storage.ProposalStore) {
	t.Run("Proposals", func(t *testing.T) { testProposals(t, open(t)) })
}

// RunInvestigations runs the investigation part of the suite, for stores
// that keep only those (Redis in a scaled deployment).
func RunInvestigations(t *testing.T, open func(t *testing.T) storage.InvestigationStore) {
	t.Run("Investigations", func(t *testing.T) { testInvestigations(t, open(t)) })
}

// RunEvents runs the event store's part of the suite.
func RunEvents(t *testing.T, open EventOpener) {
	t.Run("AggregateWeightedCounts", func(t *testing.T) { testAggregate(t, open(t)) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, open(t)) })
	t.Run("BucketedSeries", func(t *testing.T) { testBuckets(t, open(t)) })
	t.Run("EventsPagination", func(t *testing.T) { testEvents(t, open(t)) })
	t.Run("TraceAndServiceMap", func(t *testing.T) { testTrace(t, open(t)) })
	t.Run("Traces", func(t *testing.T) { testTraces(t, open(t)) })
	t.Run("ServiceMapFolded", func(t *testing.T) { testEdgeFolding(t, open(t)) })
	t.Run("TenantIsolation", func(t *testing.T) { testIsolation(t, open(t)) })
	t.Run("BubbleUp", func(t *testing.T) { testBubbleUp(t, open(t)) })
	t.Run("SpanStats", func(t *testing.T) { testSpanStats(t, open(t)) })
	t.Run("Resources", func(t *testing.T) { testResources(t, open(t)) })
	t.Run("DurationsBeyondSpans", func(t *testing.T) { testDurations(t, open(t)) })
}

// testDurations: a custom event or a log given a duration keeps it (a job's
// run time is summed and ranked like a span's); one given none has none,
// and percentiles skip it.
func testDurations(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	job := domain.Event{Tenant: "t1", TimeUnixNano: base, Kind: domain.KindEvent, Service: "batch", Name: "nightly-job",
		DurationNano: int64(250 * time.Millisecond), SampleRate: 1}
	plain := domain.Event{Tenant: "t1", TimeUnixNano: base + 1, Kind: domain.KindEvent, Service: "batch", Name: "tick", SampleRate: 1}
	job.ID, plain.ID = job.ContentHash(), plain.ContentHash()
	require.NoError(t, s.WriteEvents(ctx, []domain.Event{job, plain}))
	flush(t, s)
	res, err := s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: all(), GroupBy: []domain.Field{*field(t, "name")},
		Aggregations: []domain.Aggregation{{Op: domain.AggMax, Field: field(t, "duration_ms")}, {Op: domain.AggCount}}})
	require.NoError(t, err)
	got := map[string]float64{}
	for _, r := range res.Rows {
		got[*r.Keys[0]] = val(r.Values[0])
	}
	assert.InDelta(t, 250.0, got["nightly-job"], 1e-6, "the job's duration is kept")
	assert.True(t, math.IsNaN(got["tick"]), "an event given no duration has none: %v", got["tick"])
}

// RunMetrics runs the metric store's part of the suite.
func RunMetrics(t *testing.T, open MetricOpener) {
	t.Run("Metrics", func(t *testing.T) { testMetrics(t, open(t)) })
	t.Run("MetricIsolation", func(t *testing.T) { testMetricIsolation(t, open(t)) })
	t.Run("MetricStepInProgress", func(t *testing.T) { testMetricStepInProgress(t, open(t)) })
}

// flush makes what was written visible, for stores that acknowledge writes
// before they can be queried (VictoriaMetrics).
func flush(t *testing.T, s any) {
	t.Helper()
	if f, ok := s.(interface{ Flush(context.Context) error }); ok {
		require.NoError(t, f.Flush(context.Background()))
	}
}

// Span builds a span event for tests.
func Span(tenant, service, name string, at int64, durMs float64, status domain.Status, attrs ...string) domain.Event {
	e := domain.Event{
		Tenant: tenant, TimeUnixNano: at, Kind: domain.KindSpan, Service: service, Name: name,
		DurationNano: int64(durMs * 1e6), Status: status, SampleRate: 1,
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs.Put(attrs[i], attrs[i+1])
	}
	e.ID = e.ContentHash()
	return e
}

// RealisticSpans are n spans as an instrumented HTTP service sends them (6
// span attributes, 2 of them numeric, 4 resource attributes), one a
// nanosecond from base, for the write benchmarks of every backend.
func RealisticSpans(n int, base int64) []domain.Event {
	evs := make([]domain.Event, n)
	for i := range evs {
		e := Span("default", "checkout", "GET /api/orders/{id}", base+int64(i), float64(i%200), domain.StatusOK,
			"http.request.method", "GET", "http.route", "/api/orders/{id}", "region", "eu-west", "customer.tier", "pro")
		e.PutNum("http.response.status_code", 200)
		e.PutNum("order.items", float64(i%7))
		e.TraceID, e.SpanID, e.ParentSpanID = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "eee19b7ec3c1b173"
		for _, kv := range [][2]string{{"service.name", "checkout"}, {"service.version", "1.2.3"}, {"host.name", "h1"}, {"deployment.environment", "prod"}} {
			e.Resource.Put(kv[0], kv[1])
		}
		e.ID = e.ContentHash()
		evs[i] = e
	}
	return evs
}

func rng(start, end int64) domain.TimeRange { return domain.TimeRange{Start: start, End: end} }

func all() domain.TimeRange { return rng(base-int64(time.Hour), base+int64(time.Hour)) }

func field(t *testing.T, s string) *domain.Field {
	f, err := domain.ParseField(s)
	require.NoError(t, err)
	return &f
}

func key(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func testAggregate(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	var evs []domain.Event
	// checkout: 10 spans 10..100 ms, two errors, sample rate 1.
	for i := 1; i <= 10; i++ {
		st := domain.StatusOK
		if i > 8 {
			st = domain.StatusError
		}
		evs = append(evs, Span("t1", "checkout", "POST /checkout", base+int64(i)*int64(time.Second), float64(i*10), st, "region", "eu"))
	}
	// payment: 2 spans kept out of 10 each (sample rate 10).
	for i := 0; i < 2; i++ {
		e := Span("t1", "payment", "charge", base+int64(i)*int64(time.Second), 200, domain.StatusOK, "region", "us")
		e.SampleRate = 10
		e.PutNum("amount", 5)
		e.ID = e.ContentHash()
		evs = append(evs, e)
	}
	require.NoError(t, s.WriteEvents(ctx, evs))

	res, err := s.Aggregate(ctx, domain.Query{
		Tenant: "t1", Range: all(),
		GroupBy: []domain.Field{*field(t, "service")},
		Aggregations: []domain.Aggregation{
			{Op: domain.AggCount},
			{Op: domain.AggP50, Field: field(t, "duration_ms")},
			{Op: domain.AggMax, Field: field(t, "duration_ms")},
			{Op: domain.AggAvg, Field: field(t, "duration_ms")},
			{Op: domain.AggSum, Field: field(t, "attr.amount")},
			{Op: domain.AggCountDistinct, Field: field(t, "name")},
		},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"service"}, res.GroupBy)
	assert.Equal(t, []string{"count", "p50(duration_ms)", "max(duration_ms)", "avg(duration_ms)", "sum(attr.amount)", "count_distinct(name)"}, res.Columns)
	require.Len(t, res.Rows, 2)
	// Ordered by count descending: payment's weighted 20 beats checkout's 10.
	assert.Equal(t, "payment", key(res.Rows[0].Keys[0]))
	assert.Equal(t, 20.0, val(res.Rows[0].Values[0]))
	assert.Equal(t, 100.0, val(res.Rows[0].Values[4]), "sum weighted by sample rate")
	assert.Equal(t, "checkout", key(res.Rows[1].Keys[0]))
	assert.Equal(t, 10.0, val(res.Rows[1].Values[0]))
	assert.InDelta(t, 55.0, val(res.Rows[1].Values[1]), 1e-9)
	assert.Equal(t, 100.0, val(res.Rows[1].Values[2]))
	assert.InDelta(t, 55.0, val(res.Rows[1].Values[3]), 1e-9)
	assert.True(t, res.Rows[1].Values[4] == nil, "sum over no values is null")
	assert.Equal(t, 1.0, val(res.Rows[1].Values[5]))

	// Having, order and limit.
	res, err = s.Aggregate(ctx, domain.Query{
		Tenant: "t1", Range: all(),
		GroupBy:      []domain.Field{*field(t, "attr.region")},
		Aggregations: []domain.Aggregation{{Op: domain.AggCount, Alias: "n"}, {Op: domain.AggP99, Field: field(t, "duration_ms")}},
		Order:        []domain.Order{{By: "attr.region"}},
		Having:       []domain.Having{{Aggregation: "n", Op: domain.OpLt, Value: 15}},
	})
	require.NoError(t, err)
	require.Len(t, res.Rows, 1)
	assert.Equal(t, "eu", key(res.Rows[0].Keys[0]))
	assert.InDelta(t, 99.1, val(res.Rows[0].Values[1]), 1e-6, "p99 by linear interpolation")

	// No group-by: one row; rate is per second over the range.
	res, err = s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: rng(base, base+int64(100*time.Second)),
		Aggregations: []domain.Aggregation{{Op: domain.AggRate}}})
	require.NoError(t, err)
	require.Len(t, res.Rows, 1)
	assert.InDelta(t, 0.3, val(res.Rows[0].Values[0]), 1e-9)

	// Bad queries are errors, not panics.
	_, err = s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: all(), Aggregations: []domain.Aggregation{{Op: domain.AggSum, Field: field(t, "service")}}})
	assert.ErrorContains(t, err, "not numeric")
	_, err = s.Aggregate(ctx, domain.Query{Range: all()})
	assert.ErrorIs(t, err, domain.ErrNoTenant)
}

func testFilters(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	evs := []domain.Event{
		Span("t1", "frontend", "GET /", base, 10, domain.StatusOK, "http.route", "/", "payment_provider", "stripe"),
		Span("t1", "frontend", "GET /cart", base+1, 20, domain.StatusOK, "http.route", "/cart"),
		Span("t1", "payment", "charge", base+2, 900, domain.StatusError, "payment_provider", "stripe_v3"),
		Span("t1", "payment", "charge", base+3, 30, domain.StatusOK, "payment_provider", "paypal"),
	}
	code := Span("t1", "frontend", "GET /x", base+4, 5, domain.StatusError)
	code.PutNum("http.status_code", 500)
	code.ID = code.ContentHash()
	evs = append(evs, code)
	require.NoError(t, s.WriteEvents(ctx, evs))

	count := func(filters ...domain.Filter) float64 {
		t.Helper()
		res, err := s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: all(), Filters: filters})
		require.NoError(t, err)
		require.Len(t, res.Rows, 1)
		return val(res.Rows[0].Values[0])
	}
	f := func(fld string, op domain.Op, v string, vs ...string) domain.Filter {
		return domain.Filter{Field: *field(t, fld), Op: op, Value: v, Values: vs}
	}
	assert.Equal(t, 3.0, count(f("service", domain.OpEq, "frontend")))
	assert.Equal(t, 2.0, count(f("service", domain.OpNe, "frontend")))
	assert.Equal(t, 1.0, count(f("duration_ms", domain.OpGt, "100")))
	assert.Equal(t, 3.0, count(f("duration_ms", domain.OpLe, "20")))
	assert.Equal(t, 2.0, count(f("attr.payment_provider", domain.OpIn, "", "stripe", "paypal")))
	assert.Equal(t, 1.0, count(f("attr.payment_provider", domain.OpNotIn, "", "stripe", "paypal")))
	assert.Equal(t, 2.0, count(f("attr.payment_provider", domain.OpContains, "stripe")))
	assert.Equal(t, 3.0, count(f("attr.payment_provider", domain.OpExists, "")))
	assert.Equal(t, 2.0, count(f("attr.payment_provider", domain.OpNotExists, "")))
	assert.Equal(t, 1.0, count(f("attr.http.status_code", domain.OpEq, "500")), "numeric attribute by its typed value")
	assert.Equal(t, 1.0, count(f("attr.http.status_code", domain.OpGe, "500")))
	assert.Equal(t, 2.0, count(f("status", domain.OpEq, "error"), f("duration_ms", domain.OpLt, "1000")))
	// A value that looks like SQL is just a value.
	assert.Equal(t, 0.0, count(f("service", domain.OpEq, "x' OR '1'='1")))
	// Go-side matching agrees with the store.
	for _, flt := range [][]domain.Filter{
		{f("service", domain.OpEq, "frontend")},
		{f("attr.payment_provider", domain.OpNotIn, "", "stripe", "paypal")},
		{f("attr.http.status_code", domain.OpGe, "500")},
		{f("duration_ms", domain.OpGt, "100")},
		{f("attr.payment_provider", domain.OpNotExists, "")},
	} {
		n := 0.0
		for i := range evs {
			if domain.Match(&evs[i], flt) {
				n++
			}
		}
		assert.Equal(t, count(flt...), n, "Match and the store agree on %v", flt)
	}
}

func testBuckets(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	var evs []domain.Event
	// Minute 0: 3 frontend spans; minute 1: 1 frontend, 2 cart.
	for i, svc := range []string{"frontend", "frontend", "frontend"} {
		evs = append(evs, Span("t1", svc, "op", base+int64(i)*int64(time.Second), 10, domain.StatusOK))
	}
	m1 := base + int64(time.Minute)
	evs = append(evs, Span("t1", "frontend", "op", m1, 10, domain.StatusOK),
		Span("t1", "cart", "op", m1+1, 10, domain.StatusOK), Span("t1", "cart", "op", m1+2, 10, domain.StatusOK))
	require.NoError(t, s.WriteEvents(ctx, evs))

	res, err := s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: rng(base, base+int64(2*time.Minute)),
		GroupBy: []domain.Field{*field(t, "service")}, Bucket: time.Minute})
	require.NoError(t, err)
	type pt struct {
		svc    string
		bucket int64
		n      float64
	}
	var got []pt
	for _, r := range res.Rows {
		got = append(got, pt{key(r.Keys[0]), r.Bucket, val(r.Values[0])})
	}
	// Groups in rank order (frontend 4 > cart 2), buckets ascending within.
	assert.Equal(t, []pt{{"frontend", base, 3}, {"frontend", m1, 1}, {"cart", m1, 2}}, got)

	res, err = s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: rng(base, base+int64(2*time.Minute)),
		GroupBy: []domain.Field{*field(t, "service")}, Bucket: time.Minute, Limit: 1})
	require.NoError(t, err)
	require.Len(t, res.Rows, 2, "limit applies to groups, not rows")

	_, err = s.Aggregate(ctx, domain.Query{Tenant: "t1", Range: all(), Bucket: time.Millisecond})
	assert.ErrorContains(t, err, "buckets")
}

func testEvents(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	var evs []domain.Event
	for i := 0; i < 25; i++ {
		e := domain.Event{Tenant: "t1", TimeUnixNano: base + int64(i/2), Kind: domain.KindLog, Service: "cart",
			Name: "added item", Body: fmt.Sprintf("line %d", i), Severity: "INFO", Status: domain.StatusUnset, SampleRate: 1}
		e.Resource.Put("host.name", "h1")
		e.ID = e.ContentHash()
		evs = append(evs, e)
	}
	require.NoError(t, s.WriteEvents(ctx, evs))
	seen := map[string]bool{}
	var cursor *domain.Cursor
	prev := int64(math.MaxInt64)
	pages := 0
	for {
		page, err := s.Events(ctx, domain.EventQuery{Tenant: "t1", Range: all(), Limit: 10, After: cursor})
		require.NoError(t, err)
		pages++
		for _, e := range page.Events {
			assert.LessOrEqual(t, e.TimeUnixNano, prev, "newest first")
			prev = e.TimeUnixNano
			assert.False(t, seen[e.Body], "no duplicates across pages")
			seen[e.Body] = true
			v, _ := e.Resource.Get("host.name")
			assert.Equal(t, "h1", v)
		}
		if page.Next == nil {
			break
		}
		cursor = page.Next
	}
	assert.Len(t, seen, 25)
	assert.Equal(t, 3, pages)
	page, err := s.Events(ctx, domain.EventQuery{Tenant: "t1", Range: all(),
		Filters: []domain.Filter{{Field: *field(t, "body"), Op: domain.OpContains, Value: "line 2"}}})
	require.NoError(t, err)
	assert.Len(t, page.Events, 6) // line 2, 20..24
}

func testTrace(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	mk := func(svc, id, parent string, at int64, dur float64, st domain.Status) domain.Event {
		e := Span("t1", svc, svc+" op", at, dur, st)
		e.TraceID, e.SpanID, e.ParentSpanID = "0af7651916cd43dd8448eb211c80319c", id, parent
		e.ID = e.ContentHash()
		return e
	}
	evs := []domain.Event{
		mk("frontend", "a1", "", base, 100, domain.StatusOK),
		mk("checkout", "b1", "a1", base+1e6, 80, domain.StatusOK),
		mk("checkout", "b2", "b1", base+2e6, 10, domain.StatusOK), // same service: no edge
		mk("payment", "c1", "b2", base+3e6, 50, domain.StatusError),
		mk("cart", "d1", "b1", base+4e6, 5, domain.StatusOK),
	}
	db := mk("payment", "c2", "c1", base+5e6, 20, domain.StatusOK)
	db.Attrs.Put("peer.service", "postgres")
	db.ID = db.ContentHash()
	evs = append(evs, db)
	require.NoError(t, s.WriteEvents(ctx, evs))

	spans, err := s.Trace(ctx, "t1", "0af7651916cd43dd8448eb211c80319c")
	require.NoError(t, err)
	require.Len(t, spans, 6)
	assert.Equal(t, "a1", spans[0].SpanID)
	_, err = s.Trace(ctx, "t1", "ffffffffffffffffffffffffffffffff")
	assert.True(t, errors.Is(err, storage.ErrNotFound))
	_, err = s.Trace(ctx, "t2", "0af7651916cd43dd8448eb211c80319c")
	assert.True(t, errors.Is(err, storage.ErrNotFound), "other tenant's trace is not found")

	edges, err := s.ServiceMap(ctx, "t1", all())
	require.NoError(t, err)
	type edge struct {
		src, dst string
		calls    float64
		errs     float64
	}
	var got []edge
	for _, e := range edges {
		got = append(got, edge{e.Source, e.Target, e.Calls, e.Errors})
	}
	assert.Equal(t, []edge{
		{"checkout", "cart", 1, 0}, {"checkout", "payment", 1, 1}, {"frontend", "checkout", 1, 0}, {"payment", "postgres", 1, 0},
	}, got)

	svcs, err := s.Services(ctx, "t1", all())
	require.NoError(t, err)
	require.Len(t, svcs, 4)
	assert.Equal(t, "payment", svcs[3].Name)
	assert.Equal(t, 2.0, svcs[3].SpanCount)
	assert.Equal(t, 1.0, svcs[3].ErrorCount)
	assert.InDelta(t, 49.7, val(svcs[3].P99Ms), 1e-6)
	assert.Equal(t, base+3e6, svcs[3].FirstNano)
	assert.Equal(t, base+5e6, svcs[3].LastNano)
	for _, sv := range svcs {
		// The data covers 5 ms of the two-hour range: a rate divides by
		// that (at least a second), not by two hours.
		assert.Equal(t, 1.0, sv.Seconds, sv.Name)
	}
}

func testIsolation(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	a := Span("tenant-a", "secret-a", "op", base, 1, domain.StatusOK)
	a.TraceID, a.SpanID = "aaaa", "a1"
	a.ID = a.ContentHash()
	b := Span("tenant-b", "secret-b", "op", base, 1, domain.StatusOK)
	b.TraceID, b.SpanID = "bbbb", "b1"
	b.ID = b.ContentHash()
	require.NoError(t, s.WriteEvents(ctx, []domain.Event{a, b}))

	res, err := s.Aggregate(ctx, domain.Query{Tenant: "tenant-a", Range: all(), GroupBy: []domain.Field{*field(t, "service")}})
	require.NoError(t, err)
	require.Len(t, res.Rows, 1)
	assert.Equal(t, "secret-a", key(res.Rows[0].Keys[0]))
	page, err := s.Events(ctx, domain.EventQuery{Tenant: "tenant-a", Range: all()})
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	assert.Equal(t, "secret-a", page.Events[0].Service)
	_, err = s.Trace(ctx, "tenant-a", "bbbb")
	assert.True(t, errors.Is(err, storage.ErrNotFound))
	svcs, err := s.Services(ctx, "tenant-a", all())
	require.NoError(t, err)
	require.Len(t, svcs, 1)
	for _, empty := range []error{
		func() error { _, err := s.Events(ctx, domain.EventQuery{Range: all()}); return err }(),
		func() error { _, err := s.Trace(ctx, "", "aaaa"); return err }(),
		func() error { _, err := s.Services(ctx, "", all()); return err }(),
		func() error { _, err := s.ServiceMap(ctx, "", all()); return err }(),
	} {
		assert.Error(t, empty, "an empty tenant is refused, not a wildcard")
	}
}

func testMetricIsolation(t *testing.T, s storage.MetricStore) {
	ctx := context.Background()
	require.NoError(t, s.WriteSamples(ctx, []domain.Sample{sample("tenant-b", "secret_metric", base, 1), sample("tenant-a", "own_metric", base, 1)}))
	flush(t, s)
	names, err := s.MetricNames(ctx, "tenant-a", all())
	require.NoError(t, err)
	assert.Equal(t, []string{"own_metric"}, names)
	series, err := s.MetricSeries(ctx, domain.MetricQuery{Tenant: "tenant-a", Name: "secret_metric", Range: all(), Step: time.Minute})
	require.NoError(t, err)
	assert.Empty(t, series)
	_, err = s.MetricNames(ctx, "", all())
	assert.Error(t, err, "an empty tenant is refused, not a wildcard")
	_, err = s.MetricSeries(ctx, domain.MetricQuery{Name: "secret_metric", Range: all(), Step: time.Minute})
	assert.Error(t, err, "an empty tenant is refused, not a wildcard")
}

func testDeadLetterIsolation(t *testing.T, s storage.Store) {
	ctx := context.Background()
	require.NoError(t, s.PutDeadLetters(ctx, []domain.DeadLetter{{Tenant: "tenant-b", ID: "dl1", TimeUnixNano: base, Source: "x", Format: "x", Reason: "x"}}))
	dls, err := s.DeadLetters(ctx, "tenant-a", all(), 10, true)
	require.NoError(t, err)
	assert.Empty(t, dls)
	_, err = s.DeadLetter(ctx, "tenant-a", "dl1")
	assert.True(t, errors.Is(err, storage.ErrNotFound))
	assert.True(t, errors.Is(s.MarkReplayed(ctx, "tenant-a", "dl1", 1), storage.ErrNotFound))
	_, err = s.DeadLetters(ctx, "", all(), 1, true)
	assert.Error(t, err, "an empty tenant is refused, not a wildcard")
}

func sample(tenant, name string, at int64, v float64, labels ...string) domain.Sample {
	m := domain.Sample{Tenant: tenant, Name: name, TimeUnixNano: at, Value: v, Type: domain.MetricGauge}
	for i := 0; i+1 < len(labels); i += 2 {
		m.Labels.Put(labels[i], labels[i+1])
	}
	m.SeriesID = m.ComputeSeriesID()
	return m
}

func testMetrics(t *testing.T, s storage.MetricStore) {
	ctx := context.Background()
	var ms []domain.Sample
	sec := int64(time.Second)
	for i := int64(0); i < 60; i++ {
		// A gauge on two hosts; a counter that resets at i=30.
		ms = append(ms, sample("t1", "cpu", base+i*sec, float64(i), "host", "a", "env", "prod"))
		ms = append(ms, sample("t1", "cpu", base+i*sec, 100, "host", "b", "env", "dev"))
		c := sample("t1", "requests_total", base+i*sec, float64(i%30*2), "host", "a")
		c.Type = domain.MetricCounter
		ms = append(ms, c)
	}
	require.NoError(t, s.WriteSamples(ctx, ms))
	flush(t, s)

	r := rng(base, base+60*sec)
	series, err := s.MetricSeries(ctx, domain.MetricQuery{Tenant: "t1", Name: "cpu", Range: r, Step: 30 * time.Second})
	require.NoError(t, err)
	require.Len(t, series, 2)
	byHost := map[string]domain.MetricSeries{}
	for _, ser := range series {
		h, _ := ser.Labels.Get("host")
		byHost[h] = ser
	}
	require.Len(t, byHost["a"].Points, 2)
	assert.Equal(t, 14.5, byHost["a"].Points[0].Value, "avg of 0..29")
	assert.Equal(t, 44.5, byHost["a"].Points[1].Value)
	assert.Equal(t, domain.MetricGauge, byHost["a"].Type)

	series, err = s.MetricSeries(ctx, domain.MetricQuery{Tenant: "t1", Name: "cpu", Range: r, Step: 30 * time.Second,
		Matchers: []domain.LabelMatcher{{Name: "env", Op: domain.MatchRe, Value: "pr.*"}}})
	require.NoError(t, err)
	require.Len(t, series, 1)

	series, err = s.MetricSeries(ctx, domain.MetricQuery{Tenant: "t1", Name: "cpu", Range: r, Step: time.Minute,
		Func: domain.FuncMax, Aggregate: true, Group: domain.GroupSum})
	require.NoError(t, err)
	require.Len(t, series, 1)
	require.Len(t, series[0].Points, 1)
	assert.Equal(t, 159.0, series[0].Points[0].Value, "sum over hosts of the max per host")

	series, err = s.MetricSeries(ctx, domain.MetricQuery{Tenant: "t1", Name: "cpu", Range: r, Step: time.Minute,
		Func: domain.FuncLast, GroupBy: []string{"env"}, Group: domain.GroupMax})
	require.NoError(t, err)
	require.Len(t, series, 2)
	assert.Equal(t, "dev", series[0].Labels.Values[0])
	assert.Equal(t, 100.0, series[0].Points[0].Value)
	assert.Equal(t, 59.0, series[1].Points[0].Value)

	// Counter: +2 per second, reset to 0 at i=30 (counts as an increase of 0).
	series, err = s.MetricSeries(ctx, domain.MetricQuery{Tenant: "t1", Name: "requests_total", Range: r, Step: time.Minute, Func: domain.FuncIncrease})
	require.NoError(t, err)
	require.Len(t, series, 1)
	assert.Equal(t, 116.0, series[0].Points[0].Value)
	series, err = s.MetricSeries(ctx, domain.MetricQuery{Tenant: "t1", Name: "requests_total", Range: r, Step: time.Minute, Func: domain.FuncRate})
	require.NoError(t, err)
	assert.InDelta(t, 116.0/60, series[0].Points[0].Value, 1e-9)
	assert.Equal(t, domain.MetricCounter, series[0].Type)

	names, err := s.MetricNames(ctx, "t1", r)
	require.NoError(t, err)
	assert.Equal(t, []string{"cpu", "requests_total"}, names)

	_, err = s.MetricSeries(ctx, domain.MetricQuery{Tenant: "t1", Name: "cpu", Range: r, Matchers: []domain.LabelMatcher{{Name: "env", Op: "~~"}}})
	assert.Error(t, err)
}

package demo_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/agents/investigate"
	"github.com/inquest/inquest/demo"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
)

// spans turns the SDK's finished spans into the events ingest would store
// for them (the fields detection reads).
type spans struct {
	mu  sync.Mutex
	out []domain.Event
}

func (s *spans) ExportSpans(_ context.Context, ss []sdktrace.ReadOnlySpan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range ss {
		e := domain.Event{Tenant: "default", Kind: domain.KindSpan, Service: serviceOf(sp.Resource()), Name: sp.Name(),
			TimeUnixNano: sp.StartTime().UnixNano(), DurationNano: sp.EndTime().Sub(sp.StartTime()).Nanoseconds(),
			TraceID: sp.SpanContext().TraceID().String(), SpanID: sp.SpanContext().SpanID().String(), Status: domain.StatusOK, SampleRate: 1}
		if sp.Parent().IsValid() {
			e.ParentSpanID = sp.Parent().SpanID().String()
		}
		if sp.Status().Code == codes.Error {
			e.Status = domain.StatusError
		}
		for _, kv := range sp.Attributes() {
			e.Attrs.Put(string(kv.Key), kv.Value.Emit())
		}
		s.out = append(s.out, e)
	}
	return nil
}

func (s *spans) Shutdown(context.Context) error { return nil }

// serviceOf is the service.name of an SDK resource.
func serviceOf(r *resource.Resource) string {
	v, _ := r.Set().Value(semconv.ServiceNameKey)
	return v.AsString()
}

func (s *spans) take() []domain.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.out
	s.out = nil
	return out
}

type discardLogs struct{}

func (discardLogs) Export(context.Context, []sdklog.Record) error { return nil }
func (discardLogs) Shutdown(context.Context) error                { return nil }
func (discardLogs) ForceFlush(context.Context) error              { return nil }

type discardMetrics struct{}

func (discardMetrics) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}
func (discardMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}
func (discardMetrics) Export(context.Context, *metricdata.ResourceMetrics) error { return nil }
func (discardMetrics) ForceFlush(context.Context) error                          { return nil }
func (discardMetrics) Shutdown(context.Context) error                            { return nil }

// soak is the demo shop, the detector and the incident grouping on one
// simulated clock, over a real embedded store: what `serve --demo` runs,
// played as fast as the machine goes.
type soak struct {
	t     *testing.T
	shop  *demo.Generator
	spans *spans
	store *duckdb.Store
	eng   *detection.Engine
	clock time.Time
}

func newSoak(t *testing.T, faultAfter time.Duration) *soak {
	ctx := context.Background()
	store, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	s := &soak{t: t, spans: &spans{}, store: store, clock: time.Now().Add(-3 * time.Hour).Truncate(time.Hour)}
	s.shop, err = demo.New(demo.Config{Rate: 20, FaultAfter: faultAfter, Seed: 42, Simulated: &demo.Simulated{
		Spans: s.spans, Logs: discardLogs{}, Metrics: discardMetrics{}, OnChange: s.changed,
	}}, nil)
	require.NoError(t, err)
	require.NoError(t, s.shop.StartAt(ctx, s.clock))
	t.Cleanup(func() { _ = s.shop.Shutdown(context.Background()) })

	cfg := detection.DefaultEngineConfig()
	type detStore struct {
		storage.IncidentStore
		storage.RuleStore
		storage.EventStore
	}
	ds := detStore{store, store, store}
	s.eng, err = detection.NewEngine(cfg, ds, nil, nil)
	require.NoError(t, err)
	g := incidents.NewGrouper(incidents.DefaultGroupConfig(), ds, s.eng.Broker(), nil, nil)
	now := func() time.Time { return s.clock }
	g.SetClock(now)
	s.eng.SetClock(now)
	require.NoError(t, g.Start(ctx))
	s.eng.SetSink(g)
	return s
}

// changed takes the shop's deploy event (from within its Tick, on the
// test's goroutine) as the events endpoint would store it.
func (s *soak) changed(ev map[string]any) {
	at, err := time.Parse(time.RFC3339Nano, ev["timestamp"].(string))
	require.NoError(s.t, err)
	deploy := domain.Event{Tenant: "default", Kind: domain.KindEvent, Service: "payment", Name: "deploy",
		TimeUnixNano: at.UnixNano(), SampleRate: 1}
	for k, v := range ev {
		if str, ok := v.(string); ok && k != "timestamp" && k != "kind" && k != "service" && k != "name" {
			deploy.Attrs.Put(k, str)
		}
	}
	s.spans.mu.Lock()
	s.spans.out = append(s.spans.out, deploy)
	s.spans.mu.Unlock()
}

// run plays d of the shop, 10 s at a time: the step's telemetry is
// stored and handed to the detector, whose clock then passes the step.
func (s *soak) run(d time.Duration, each func()) {
	ctx := context.Background()
	for end := s.clock.Add(d); s.clock.Before(end); {
		for i := 0; i < 100; i++ {
			s.clock = s.clock.Add(100 * time.Millisecond)
			s.shop.Tick(ctx, s.clock)
		}
		evs := s.spans.take()
		require.NoError(s.t, s.store.WriteEvents(ctx, evs))
		s.eng.Ingest(evs, nil)
		s.clock = s.clock.Add(4 * time.Second) // the engine's grace: the step closes
		s.eng.Tick(ctx)
		s.clock = s.clock.Add(-4 * time.Second)
		if each != nil {
			each()
		}
	}
}

func (s *soak) incidents() []domain.Incident {
	ins, err := s.store.Incidents(context.Background(), "default", domain.TimeRange{Start: 0, End: s.clock.Add(time.Hour).UnixNano()}, "")
	require.NoError(s.t, err)
	return ins
}

// TestQuietHour plays an hour of the demo with no fault: no incident.
func TestQuietHour(t *testing.T) {
	if testing.Short() {
		t.Skip("plays an hour of the demo")
	}
	s := newSoak(t, 24*time.Hour)
	s.run(time.Hour, nil)
	anomalies, err := s.store.Anomalies(context.Background(), "default", domain.TimeRange{Start: 0, End: s.clock.UnixNano()}, "", 1000)
	require.NoError(t, err)
	t.Logf("a quiet hour of the demo: %d anomalies, %d incidents", len(anomalies), len(s.incidents()))
	for _, a := range anomalies {
		t.Logf("anomaly: %s %s", a.Series, a.Explanation)
	}
	assert.Empty(t, s.incidents(), "a quiet demo opens no incident")
}

// TestFaultHeld plays 30 quiet minutes, then the bad deploy held for 30
// minutes (twice what the issue asks: a detector whose window absorbs the
// fault lets go after about 17): the incident opens within 30 s of the
// fault and stays open, with payment first, for as long as the fault
// lasts.
func TestFaultHeld(t *testing.T) {
	if testing.Short() {
		t.Skip("plays an hour of the demo")
	}
	s := newSoak(t, 30*time.Minute)
	s.run(30*time.Minute, nil)
	require.Empty(t, s.incidents(), "nothing before the fault")
	faultAt := s.clock
	var openedAt time.Time
	var closedDuring []string
	s.run(30*time.Minute, func() {
		ins := s.incidents()
		if len(ins) == 0 {
			if s.clock.Sub(faultAt) > 30*time.Second {
				closedDuring = append(closedDuring, s.clock.Sub(faultAt).String()+": no incident")
			}
			return
		}
		if openedAt.IsZero() {
			openedAt = s.clock
		}
		if ins[0].Status == domain.IncidentResolved {
			closedDuring = append(closedDuring, s.clock.Sub(faultAt).String()+": resolved")
		}
	})
	require.False(t, openedAt.IsZero(), "an incident opened")
	assert.LessOrEqual(t, openedAt.Sub(faultAt), 30*time.Second, "within 30 s of the fault")
	assert.Empty(t, closedDuring, "the incident is open for as long as the fault lasts")
	ins := s.incidents()
	require.Len(t, ins, 1, "one incident")
	in := ins[0]
	assert.Equal(t, "payment", in.Services[0], "payment first: %+v", in.Services)
	opened := 0
	for _, ev := range in.Timeline {
		if ev.Kind == "opened" {
			opened++
		}
	}
	assert.Equal(t, 1, opened, "one opened entry: %+v", in.Timeline)
	var deploy string
	for _, ev := range in.Timeline {
		if ev.Kind == "deploy" {
			deploy = ev.Text
		}
	}
	assert.Contains(t, deploy, "payment deployed 2.3.1 (was 2.3.0, commit 9f3c2ab, by ci-bot)", "the change is on the timeline")
	t.Logf("timeline: %s", deploy)
	t.Logf("incident %q opened %s after the fault, %d anomalies, timeline %d entries", in.Title, openedAt.Sub(faultAt), len(in.AnomalyIDs), len(in.Timeline))
	// The fault is still on: payment's p99 anomaly, which opened with it,
	// has not ended; a baseline that learnt the fault lets it go after
	// about 17 minutes (half the window).
	anomalies, err := s.store.Anomalies(context.Background(), "default", domain.TimeRange{Start: faultAt.UnixNano(), End: s.clock.UnixNano()}, "", 1000)
	require.NoError(t, err)
	ended := 0
	for _, a := range anomalies {
		if a.EndNano != 0 {
			ended++
			t.Logf("ended during the fault: %s after %s", a.Series, time.Duration(a.EndNano-a.StartNano))
		}
		if a.Service == "payment" && a.Signal == "p99" && a.Operation == "" {
			assert.Zero(t, a.EndNano, "payment's p99 anomaly is open while the fault lasts")
		}
	}
	t.Logf("%d of the fault's %d anomalies ended while it lasted (error ratios that dipped inside their band for a minute)", ended, len(anomalies))

	// BubbleUp on payment's slow requests of the fault against payment's
	// requests of the half hour before: the bad deploy's provider and
	// version come first. (Against the other requests of the same window
	// the version says nothing: every payment request runs 2.3.1 then.)
	before := domain.TimeRange{Start: faultAt.Add(-30 * time.Minute).UnixNano(), End: faultAt.UnixNano()}
	counts, err := s.store.BubbleUp(context.Background(), domain.BubbleUpQuery{Tenant: "default",
		Range: domain.TimeRange{Start: faultAt.UnixNano(), End: s.clock.UnixNano()}, Baseline: &before,
		Scope:     []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: "payment"}},
		Selection: []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "duration_ms"}, Op: domain.OpGt, Value: "1000"}}})
	require.NoError(t, err)
	top := counts.Rank(5, 2)
	require.GreaterOrEqual(t, len(top.Fields), 2)
	got := map[string]string{}
	for _, f := range top.Fields[:2] {
		got[f.Field] = f.Values[0].Value
	}
	assert.Equal(t, map[string]string{"attr.payment_provider": "stripe_v3", "attr.version": "2.3.1"}, got, "%+v", top.Fields)
}

// TestFaultInvestigated: the investigation of the bad deploy's incident,
// over what the shop sent, names payment's deploy first, with BubbleUp's
// provider and version, the deploy and the path from the front door.
func TestFaultInvestigated(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 25 minutes of the demo")
	}
	s := newSoak(t, 20*time.Minute)
	s.run(20*time.Minute, nil)
	var in domain.Incident
	s.run(3*time.Minute, func() {
		if ins := s.incidents(); len(ins) > 0 && len(in.Services) < 3 {
			in = ins[0]
		}
	})
	require.GreaterOrEqual(t, len(in.Services), 3, "the incident reached payment, checkout and frontend: %+v", in.Services)
	runner := investigate.New(investigate.DefaultConfig(), investigate.Deps{Source: s.store, Store: s.store, Incidents: s.store}, nil, nil)
	runner.SetClock(func() time.Time { return s.clock })
	inv := runner.New("default", "incident", domain.InvestigationScope{
		Range: domain.TimeRange{Start: in.OpenedNano - int64(time.Minute), End: s.clock.UnixNano()}})
	inv.IncidentID, inv.Services = in.ID, in.Services
	runner.Run(context.Background(), &inv)
	require.Equal(t, domain.InvestigationDone, inv.Status, inv.Error)
	require.NotEmpty(t, inv.Hypotheses, inv.Summary)
	top := inv.Hypotheses[0]
	for i, h := range inv.Hypotheses {
		t.Logf("#%d %s %s %.2f: %s", i+1, h.Service, h.Cause, h.Confidence, h.Summary)
	}
	assert.Equal(t, "payment", top.Service)
	assert.Equal(t, domain.CauseBadDeploy, top.Cause)
	var texts []string
	for _, e := range top.Evidence {
		texts = append(texts, e.Kind+": "+e.Text)
		assert.NotNil(t, e.Query, "evidence %q names its query", e.Text)
	}
	joined := strings.Join(texts, "\n")
	assert.Contains(t, joined, "payment_provider=stripe_v3")
	assert.Contains(t, joined, "version=2.3.1")
	assert.Contains(t, joined, "change: payment: deploy 2.3.1 (was 2.3.0)")
	assert.Equal(t, []string{"frontend", "checkout", "payment"}, top.Path)
	assert.Contains(t, top.Affected, "checkout")
	assert.InDelta(t, 0.15, top.TrafficShare, 0.05, "checkouts are 15% of the shop's requests")
	assert.Contains(t, inv.Summary, "payment: a bad deploy")
}

// paymentFailing plays d more of the shop and says what share of payment's
// spans failed in it.
func (s *soak) paymentFailing(d time.Duration) float64 {
	ctx := context.Background()
	for end := s.clock.Add(d); s.clock.Before(end); {
		s.clock = s.clock.Add(100 * time.Millisecond)
		s.shop.Tick(ctx, s.clock)
	}
	n, bad := 0, 0
	for _, e := range s.spans.take() {
		if e.Service == "payment" && e.Kind == domain.KindSpan {
			n++
			if e.Status == domain.StatusError {
				bad++
			}
		}
	}
	require.Positive(s.t, n)
	return float64(bad) / float64(n)
}

// TestUndoOnlyWhatItDid: the deploy API of the demo undoes only what the
// proposal being rolled back did. A ticket for payment changes nothing, so
// its undo (after it "failed" verification) leaves the bad deploy on, and
// the rollback approved afterwards still works; undoing that rollback
// brings the fault back, and a rollback with no fault on still deploys.
func TestUndoOnlyWhatItDid(t *testing.T) {
	ctx := context.Background()
	s := newSoak(t, 30*time.Second)
	s.paymentFailing(time.Minute)
	require.True(t, s.shop.Faulted())
	require.Greater(t, s.paymentFailing(30*time.Second), 0.05, "the bad deploy fails charges")

	out, err := s.shop.Remediate(ctx, "open_ticket", "payment", nil, false, "prop-ticket")
	require.NoError(t, err)
	assert.Contains(t, out, "nothing in the shop changed")
	out, err = s.shop.Remediate(ctx, "open_ticket", "payment", nil, true, "prop-ticket")
	require.NoError(t, err)
	assert.Contains(t, out, "nothing to undo")
	require.Greater(t, s.paymentFailing(30*time.Second), 0.05, "the fault stays until the rollback")

	out, err = s.shop.Remediate(ctx, "rollback", "payment", map[string]string{"version": "2.3.0"}, false, "prop-rollback")
	require.NoError(t, err)
	assert.Equal(t, "payment rolled back to 2.3.0", out)
	s.paymentFailing(10 * time.Second) // requests under way finish
	assert.Zero(t, s.paymentFailing(30*time.Second), "the rollback ended the fault")

	out, err = s.shop.Remediate(ctx, "rollback", "payment", map[string]string{"version": "2.3.0"}, false, "prop-rollback-2")
	require.NoError(t, err, "no fault on is no error for the deploy API")
	assert.Contains(t, out, "no fault was on there")

	out, err = s.shop.Remediate(ctx, "rollback", "payment", nil, true, "prop-rollback")
	require.NoError(t, err)
	assert.Contains(t, out, "is back")
	s.paymentFailing(10 * time.Second)
	assert.Greater(t, s.paymentFailing(30*time.Second), 0.05, "undoing the rollback brings the bad deploy back")
}

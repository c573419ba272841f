package demo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/inquest/inquest/agents/investigate"
	"github.com/inquest/inquest/demo"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/duckdb"
)

// logs turns the SDK's log records into the events ingest would store.
type logs struct {
	mu  sync.Mutex
	out []domain.Event
}

func (l *logs) Export(_ context.Context, rs []sdklog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rs {
		e := domain.Event{Tenant: "default", Kind: domain.KindLog, Service: serviceOf(r.Resource()), Name: "log", Body: r.Body().AsString(),
			Severity: r.SeverityText(), TimeUnixNano: r.Timestamp().UnixNano(), Status: domain.StatusUnset, SampleRate: 1}
		if r.Severity() >= log.SeverityError {
			e.Status = domain.StatusError
		}
		e.ID = e.ContentHash()
		l.out = append(l.out, e)
	}
	return nil
}
func (l *logs) Shutdown(context.Context) error   { return nil }
func (l *logs) ForceFlush(context.Context) error { return nil }

func (l *logs) take() []domain.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.out
	l.out = nil
	return out
}

// gauges keeps the gauges the shop reports, stamped with the simulated
// time they were read at (the SDK stamps its own clock).
type gauges struct {
	mu  sync.Mutex
	at  time.Time
	out []domain.Sample
}

func (g *gauges) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}
func (g *gauges) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}
func (g *gauges) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	job := serviceOf(rm.Resource)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			gauge, ok := m.Data.(metricdata.Gauge[float64])
			if !ok {
				continue
			}
			for _, p := range gauge.DataPoints {
				s := domain.Sample{Tenant: "default", Name: m.Name, Type: domain.MetricGauge, TimeUnixNano: g.at.UnixNano(), Value: p.Value}
				s.Labels.Put("job", job)
				s.Labels.Sort()
				s.SeriesID = s.ComputeSeriesID()
				g.out = append(g.out, s)
			}
		}
	}
	return nil
}
func (g *gauges) ForceFlush(context.Context) error { return nil }
func (g *gauges) Shutdown(context.Context) error   { return nil }

// scenarioRun plays a scenario: quiet before its fault, then the fault
// for three minutes, everything stored; it returns the fault's start.
func scenarioRun(t testing.TB, name string, quiet time.Duration) (*duckdb.Store, time.Time) {
	return scenarioRunKeeping(t, name, quiet, true, true)
}

// scenarioRunKeeping is scenarioRun storing only the spans, or only the
// metrics, when told.
func scenarioRunKeeping(t testing.TB, name string, quiet time.Duration, keepSpans, keepMetrics bool) (*duckdb.Store, time.Time) {
	ctx := context.Background()
	store, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	sp, lg, ga := &spans{}, &logs{}, &gauges{}
	clock := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	var changes []domain.Event
	shop, err := demo.New(demo.Config{Rate: 10, FaultAfter: quiet, Seed: 7, Scenario: name, Simulated: &demo.Simulated{
		Spans: sp, Logs: lg, Metrics: ga, OnChange: func(ev map[string]any) {
			e := domain.Event{Tenant: "default", Kind: domain.KindEvent, Service: ev["service"].(string), Name: ev["name"].(string),
				TimeUnixNano: clock.UnixNano(), SampleRate: 1}
			for k, v := range ev {
				if str, ok := v.(string); ok && k != "timestamp" && k != "kind" && k != "service" && k != "name" {
					e.Attrs.Put(k, str)
				}
			}
			e.ID = e.ContentHash()
			changes = append(changes, e)
		}}}, nil)
	require.NoError(t, err)
	require.NoError(t, shop.StartAt(ctx, clock))
	t.Cleanup(func() { _ = shop.Shutdown(context.Background()) })
	start := clock
	for end := start.Add(quiet + 3*time.Minute); clock.Before(end); {
		for i := 0; i < 100; i++ {
			clock = clock.Add(100 * time.Millisecond)
			shop.Tick(ctx, clock)
		}
		ga.mu.Lock()
		ga.at = clock
		ga.mu.Unlock()
		require.NoError(t, shop.FlushMetrics(ctx))
		evs := append(lg.take(), changes...)
		if spans := sp.take(); keepSpans {
			evs = append(evs, spans...)
		}
		changes = nil
		require.NoError(t, store.WriteEvents(ctx, evs))
		ga.mu.Lock()
		if keepMetrics {
			require.NoError(t, store.WriteSamples(ctx, ga.out))
		}
		ga.out = nil
		ga.mu.Unlock()
	}
	return store, start.Add(quiet)
}

// TestScenarioLibrary plays every scenario of the library and
// investigates the three minutes after its fault with no symptom given,
// as eval-rca does with real faults: the named root must lead in 7 of 8.
func TestScenarioLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("plays eight scenarios of the demo")
	}
	type result struct {
		name, want, got string
		rank            int
		cause           string
	}
	var results []result
	for _, sc := range demo.Scenarios() {
		store, faultAt := scenarioRun(t, sc.Name, 12*time.Minute)
		inv := investigateFault(t, store, faultAt)
		r := result{name: sc.Name, want: strings.Join(sc.Roots, "|")}
		for i, h := range inv.Hypotheses {
			if i == 0 {
				r.got, r.cause = h.Service, h.Cause
			}
			for _, root := range sc.Roots {
				if h.Service == root && (r.rank == 0 || i+1 < r.rank) {
					r.rank = i + 1
				}
			}
		}
		results = append(results, r)
		t.Logf("%-18s want %-14s got %-10s (%s) rank %d: %s", sc.Name, r.want, r.got, r.cause, r.rank, inv.Summary)
		if sc.Name == "two-faults" {
			found := map[string]bool{}
			for i, h := range inv.Hypotheses {
				if i < 3 {
					found[h.Service] = true
				}
			}
			assert.True(t, found["cart"] && found["shipping"], "with no single cause, both are among the first three: %+v", inv.Hypotheses)
		}
	}
	top1, top3, causes := 0, 0, 0
	for i, r := range results {
		if r.rank == 1 && r.cause == demo.Scenarios()[i].Cause {
			causes++
		}
		if r.rank == 1 {
			top1++
		}
		if r.rank >= 1 && r.rank <= 3 {
			top3++
		}
	}
	t.Logf("scenario library: top-1 %d/%d, top-3 %d/%d, cause named with the right root %d/%d", top1, len(results), top3, len(results), causes, len(results))
	assert.GreaterOrEqual(t, top1, 7, "top-1 over the library: %s", fmt.Sprint(results))
}

// investigateFault investigates the three minutes after the fault.
func investigateFault(t testing.TB, store *duckdb.Store, faultAt time.Time) domain.Investigation {
	runner := investigate.New(investigate.DefaultConfig(), investigate.Deps{Source: store, Store: store}, nil, nil)
	runner.SetClock(func() time.Time { return faultAt.Add(3 * time.Minute) })
	inv := runner.New("default", "test", domain.InvestigationScope{
		Range: domain.TimeRange{Start: faultAt.UnixNano(), End: faultAt.Add(3 * time.Minute).UnixNano()}})
	runner.Run(context.Background(), &inv)
	require.Equal(t, domain.InvestigationDone, inv.Status, inv.Error)
	return inv
}

// TestWindowChosenByHand investigates the bad deploy as someone would by
// hand, over the last ten minutes: the deploy lies inside the window, and
// with no incident to say when the trouble began it counts as where it
// may have (it once counted as "after the onset", and payment was blamed
// for a code error).
func TestWindowChosenByHand(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the demo")
	}
	store, faultAt := scenarioRun(t, "bad-deploy", 12*time.Minute)
	end := faultAt.Add(3 * time.Minute)
	runner := investigate.New(investigate.DefaultConfig(), investigate.Deps{Source: store, Store: store}, nil, nil)
	runner.SetClock(func() time.Time { return end })
	inv := runner.New("default", "test", domain.InvestigationScope{
		Range: domain.TimeRange{Start: end.Add(-10 * time.Minute).UnixNano(), End: end.UnixNano()}})
	runner.Run(context.Background(), &inv)
	require.Equal(t, domain.InvestigationDone, inv.Status, inv.Error)
	require.NotEmpty(t, inv.Hypotheses, inv.Summary)
	assert.Equal(t, "payment", inv.Hypotheses[0].Service, inv.Summary)
	assert.Equal(t, domain.CauseBadDeploy, inv.Hypotheses[0].Cause, inv.Summary)
}

// TestMetricsAlone: with no traces, the CPU-saturated service is still
// named, from its metrics, and the investigation says traces were missing.
func TestMetricsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the demo")
	}
	store, faultAt := scenarioRunKeeping(t, "cpu-saturation", 12*time.Minute, false, true)
	inv := investigateFault(t, store, faultAt)
	require.NotEmpty(t, inv.Hypotheses, inv.Summary)
	assert.Equal(t, "inventory", inv.Hypotheses[0].Service, inv.Summary)
	assert.Equal(t, domain.CauseResourceSaturation, inv.Hypotheses[0].Cause)
	assert.Contains(t, strings.Join(inv.Missing, "; "), "no traces in the window")
}

// TestTracesAlone: with no metrics, the slow database is named from its
// spans, and the investigation says resource metrics were missing.
func TestTracesAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the demo")
	}
	store, faultAt := scenarioRunKeeping(t, "slow-database", 12*time.Minute, true, false)
	inv := investigateFault(t, store, faultAt)
	require.NotEmpty(t, inv.Hypotheses, inv.Summary)
	assert.Equal(t, "postgres", inv.Hypotheses[0].Service, inv.Summary)
	assert.Contains(t, strings.Join(inv.Missing, "; "), "no resource metrics")
}

// BenchmarkInvestigation times a whole investigation (every step, no
// model) of the bad deploy after half an hour of the shop at 10 requests
// a second (the spans, logs and events in the store are reported).
func BenchmarkInvestigation(b *testing.B) {
	store, faultAt := scenarioRun(b, "bad-deploy", 30*time.Minute)
	res, err := store.Aggregate(context.Background(), domain.Query{Tenant: "default", Range: domain.TimeRange{Start: 0, End: faultAt.Add(time.Hour).UnixNano()},
		GroupBy: []domain.Field{{Kind: domain.FieldColumn, Name: "kind"}}, Aggregations: []domain.Aggregation{{Op: domain.AggCount}}})
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		inv := investigateFault(b, store, faultAt)
		if len(inv.Hypotheses) == 0 || inv.Hypotheses[0].Service != "payment" {
			b.Fatalf("investigation found %+v", inv.Hypotheses)
		}
	}
	for _, r := range res.Rows {
		b.ReportMetric(*r.Values[0], *r.Keys[0]+"s")
	}
}

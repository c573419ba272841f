package detection

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/agents/signals"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// fakeStore keeps incidents and anomalies in maps and answers a fixed
// service graph; the engine, not the store, is under test here (the store
// has its conformance suite).
type fakeStore struct {
	mu        sync.Mutex
	anomalies map[string]domain.Anomaly
	incidents map[string]domain.Incident
	edges     []domain.ServiceEdge
	rules     []domain.Rule
}

func newFakeStore(edges ...domain.ServiceEdge) *fakeStore {
	return &fakeStore{anomalies: map[string]domain.Anomaly{}, incidents: map[string]domain.Incident{}, edges: edges}
}

func (f *fakeStore) PutAnomalies(_ context.Context, as []domain.Anomaly) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range as {
		f.anomalies[a.ID] = a
	}
	return nil
}

func (f *fakeStore) Anomalies(context.Context, string, domain.TimeRange, string, int) ([]domain.Anomaly, error) {
	return nil, nil
}

func (f *fakeStore) Anomaly(_ context.Context, _, id string) (*domain.Anomaly, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.anomalies[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return &a, nil
}

func (f *fakeStore) PutIncident(_ context.Context, in domain.Incident) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.incidents[in.ID] = in
	return nil
}

func (f *fakeStore) UpdateIncident(_ context.Context, in domain.Incident, version int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.incidents[in.ID].Version != version {
		return storage.ErrConflict
	}
	in.Version = version + 1
	f.incidents[in.ID] = in
	return nil
}

func (f *fakeStore) OpenIncidents(context.Context) ([]domain.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.Incident
	for _, in := range f.incidents {
		if in.Status != domain.IncidentResolved {
			out = append(out, in)
		}
	}
	return out, nil
}

func (f *fakeStore) Incidents(context.Context, string, domain.TimeRange, string) ([]domain.Incident, error) {
	return nil, nil
}

func (f *fakeStore) Incident(_ context.Context, tenant, id string) (*domain.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.incidents[id]
	if !ok || in.Tenant != tenant {
		return nil, storage.ErrNotFound
	}
	return &in, nil
}

func (f *fakeStore) PutRule(_ context.Context, r domain.Rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
	return nil
}

func (f *fakeStore) Rules(_ context.Context, tenant string) ([]domain.Rule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.Rule
	for _, r := range f.rules {
		if tenant == "*" || r.Tenant == tenant {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeStore) DeleteRule(_ context.Context, tenant, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.Tenant == tenant && r.ID == id {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
			return nil
		}
	}
	return storage.ErrNotFound
}

func (f *fakeStore) ServiceMap(context.Context, string, domain.TimeRange) ([]domain.ServiceEdge, error) {
	return f.edges, nil
}

type shop struct {
	t      *testing.T
	e      *Engine
	clock  time.Time
	rng    *rand.Rand
	faulty bool
}

// step sends one 10 s step of traffic for frontend → checkout → payment
// and advances the clock past the step's grace.
func (s *shop) step() {
	start := s.clock
	var evs []domain.Event
	for i := 0; i < 30; i++ {
		at := start.Add(time.Duration(i) * 300 * time.Millisecond).UnixNano()
		slow := s.faulty && i%4 == 0
		fail := s.faulty && i%10 == 0
		for _, svc := range []string{"frontend", "checkout", "payment"} {
			d := 40 + s.rng.NormFloat64()*5
			if slow {
				d += 1500
			}
			st := domain.StatusOK
			if fail {
				st = domain.StatusError
			}
			evs = append(evs, domain.Event{Tenant: "t1", TimeUnixNano: at, Kind: domain.KindSpan, Service: svc, Name: svc + " op",
				DurationNano: int64(d * 1e6), Status: st, SampleRate: 1})
		}
	}
	s.e.Ingest(evs, nil)
	s.clock = start.Add(10 * time.Second)
	s.e.now = func() time.Time { return s.clock.Add(4 * time.Second) }
	s.e.Tick(context.Background())
}

// openIncident plays quiet steps, then faulty ones (long enough not to be
// taken for a blip that recurs: a short stretch outside the band is learnt
// once it is over), and returns the one incident it opened.
func (s *shop) openIncident(st *fakeStore, quiet, faulty int) string {
	for i := 0; i < quiet; i++ {
		s.step()
	}
	s.faulty = true
	for i := 0; i < faulty; i++ {
		s.step()
	}
	require.Len(s.t, st.incidents, 1)
	for id := range st.incidents {
		return id
	}
	return ""
}

func newShop(t *testing.T) (*shop, *fakeStore) {
	st := newFakeStore(domain.ServiceEdge{Source: "frontend", Target: "checkout"}, domain.ServiceEdge{Source: "checkout", Target: "payment"},
		domain.ServiceEdge{Source: "payment", Target: "stripe-api"})
	return newShopOver(t, st, time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
}

// newGrouped makes a detector over st whose anomalies are grouped into
// incidents, as the server wires them; grouping reads the detector's clock
// and has taken up the store's open incidents.
func newGrouped(t testing.TB, cfg EngineConfig, st incidents.GroupStore) *Engine {
	t.Helper()
	e, err := NewEngine(cfg, st.(Store), nil, nil)
	require.NoError(t, err)
	g := incidents.NewGrouper(incidents.DefaultGroupConfig(), st, e.Broker(), nil, nil)
	g.SetClock(func() time.Time { return e.now() })
	require.NoError(t, g.Start(context.Background()))
	e.SetSink(g)
	return e
}

// newShopOver starts a detector at clock over an existing store.
func newShopOver(t *testing.T, st *fakeStore, clock time.Time) (*shop, *fakeStore) {
	e := newGrouped(t, DefaultEngineConfig(), st)
	e.now = func() time.Time { return clock }
	return &shop{t: t, e: e, clock: clock, rng: rand.New(rand.NewPCG(1, 1))}, st
}

func TestEngineOpensOneIncidentRootFirst(t *testing.T) {
	s, st := newShop(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	updates := s.e.Broker().Subscribe(ctx, "t1")
	for i := 0; i < 30; i++ { // 5 quiet minutes
		s.step()
	}
	assert.Empty(t, st.incidents, "no incident while all is well")
	assert.Empty(t, st.anomalies)

	s.faulty = true
	s.step()
	s.step() // detection lag ≤ 2 steps
	require.Len(t, st.incidents, 1, "one incident for the three services")
	var in domain.Incident
	for _, v := range st.incidents {
		in = v
	}
	assert.Equal(t, "payment", in.Services[0], "the root-most service first")
	assert.ElementsMatch(t, []string{"payment", "checkout", "frontend"}, in.Services)
	assert.Equal(t, domain.IncidentOpen, in.Status)
	assert.Contains(t, in.Title, "payment")
	assert.NotEmpty(t, in.Severity)

	var sawIncident bool
	for len(updates) > 0 {
		if u := <-updates; u.Incident != nil {
			sawIncident = true
		}
	}
	assert.True(t, sawIncident, "subscribers hear of it")

	// Recovery: the anomalies end, then the incident resolves by itself.
	s.faulty = false
	for i := 0; i < 6*6+5; i++ {
		s.step()
	}
	got := st.incidents[in.ID]
	assert.Equal(t, domain.IncidentResolved, got.Status, "resolved after 5 quiet minutes")
	for _, a := range st.anomalies {
		assert.NotZero(t, a.EndNano, "every anomaly ended: %s", a.Series)
		assert.Equal(t, in.ID, a.IncidentID)
	}
}

// TestIncidentMutations changes a detected incident through the lifecycle,
// as any process would, and checks that the detector's next ticks keep the
// change: a new anomaly joins the acknowledged incident without reopening
// it.
func TestIncidentMutations(t *testing.T) {
	s, st := newShop(t)
	ctx := context.Background()
	id := s.openIncident(st, 20, 15)
	lc := incidents.New(st, s.e.Broker(), nil, nil)
	in, err := lc.Acknowledge(ctx, "t1", id, "ann")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentAcknowledged, in.Status)
	assert.Equal(t, "ann", in.AcknowledgedBy)
	_, err = lc.Acknowledge(ctx, "t1", id, "bob")
	assert.ErrorIs(t, err, incidents.ErrTransition, "acknowledged once")
	_, err = lc.Acknowledge(ctx, "t2", id, "eve")
	assert.ErrorIs(t, err, storage.ErrNotFound, "another tenant's incident is not found")

	// The fault ends, its anomalies end (the detector writes the incident
	// again), and it comes back: the new anomalies join the acknowledged
	// incident without reopening it.
	before := len(st.incidents[id].AnomalyIDs)
	s.faulty = false
	for i := 0; i < 8; i++ {
		s.step()
	}
	s.faulty = true
	s.step()
	s.step()
	require.Len(t, st.incidents, 1, "no new incident")
	got := st.incidents[id]
	assert.Greater(t, len(got.AnomalyIDs), before, "the fault's return joined the incident")
	assert.Equal(t, domain.IncidentAcknowledged, got.Status, "the detector did not undo the acknowledgement")
	assert.Equal(t, "ann", got.AcknowledgedBy)

	in, err = lc.Resolve(ctx, "t1", id, "ann")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentResolved, in.Status)
	in, err = lc.Reopen(ctx, "t1", id, "ann")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentOpen, in.Status)
	assert.Equal(t, "reopened", in.Timeline[len(in.Timeline)-1].Kind)

	other := domain.Incident{Tenant: "t1", ID: "manual", Title: "x", Status: domain.IncidentOpen, Severity: "critical",
		Services: []string{"cart"}, OpenedNano: 1}
	require.NoError(t, st.PutIncident(ctx, other))
	merged, err := lc.Merge(ctx, "t1", id, []string{"manual"}, "ann")
	require.NoError(t, err)
	assert.Contains(t, merged.Services, "cart")
	assert.Equal(t, "critical", merged.Severity)
	assert.Equal(t, domain.IncidentResolved, st.incidents["manual"].Status)
	_, err = lc.Merge(ctx, "t1", id, []string{id}, "ann")
	assert.ErrorIs(t, err, incidents.ErrTransition)
}

// TestRestartKeepsOpenIncidents: a new detector over the same store takes
// up the open incident, and an anomaly after the restart joins it.
func TestRestartKeepsOpenIncidents(t *testing.T) {
	s, st := newShop(t)
	for i := 0; i < 20; i++ {
		s.step()
	}
	s.faulty = true
	s.step()
	require.Len(t, st.incidents, 1)
	var id string
	for k := range st.incidents {
		id = k
	}
	before := len(st.incidents[id].AnomalyIDs)
	// A new engine (a restart) over the same store, at the same time: its
	// grouping takes up the open incident when it starts.
	s2, _ := newShopOver(t, st, s.clock)
	s2.faulty = false
	for i := 0; i < 20; i++ {
		s2.step()
	}
	s2.faulty = true
	s2.step()
	s2.step()
	assert.Len(t, st.incidents, 1, "no second incident: the fault after the restart joined the open one")
	assert.Greater(t, len(st.incidents[id].AnomalyIDs), before, "anomalies after the restart joined it")
	assert.Equal(t, domain.IncidentOpen, st.incidents[id].Status)
}

func TestSeriesCap(t *testing.T) {
	cfg := DefaultEngineConfig()
	cfg.MaxSeries = 4
	e, err := NewEngine(cfg, newFakeStore(), nil, nil)
	require.NoError(t, err)
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return now.Add(15 * time.Second) }
	var evs []domain.Event
	for _, svc := range []string{"a", "b", "c"} {
		for i := 0; i < 12; i++ {
			evs = append(evs, domain.Event{Tenant: "t1", TimeUnixNano: now.UnixNano() + int64(i), Kind: domain.KindSpan,
				Service: svc, Name: "op", DurationNano: 1e6, Status: domain.StatusOK, SampleRate: 1})
		}
	}
	e.Ingest(evs, nil)
	e.Tick(context.Background())
	assert.Equal(t, 4, e.perTenant["t1"], "watching stops at the cap")
	assert.Len(t, e.series, 4)
}

func TestZeroBaselineMetricsDoNotOpenIncidents(t *testing.T) {
	st := newFakeStore()
	e := newGrouped(t, DefaultEngineConfig(), st)
	clock := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 50; i++ {
		m := domain.Sample{Tenant: "t1", Name: "errors_total", Type: domain.MetricCounter, TimeUnixNano: clock.UnixNano(), Value: 0}
		if i >= 40 {
			m.Value = 5 // errors start
		}
		m.Labels.Put("job", "cart")
		m.SeriesID = m.ComputeSeriesID()
		e.Ingest(nil, []domain.Sample{m})
		clock = clock.Add(10 * time.Second)
		e.now = func() time.Time { return clock.Add(4 * time.Second) }
		e.Tick(context.Background())
	}
	require.NotEmpty(t, st.anomalies, "the errors are an anomaly")
	for _, a := range st.anomalies {
		assert.Empty(t, a.IncidentID)
	}
	assert.Empty(t, st.incidents, "but not an incident")
}

func TestRedVectorByIsolationForest(t *testing.T) {
	s, st := newShop(t)
	for i := 0; i < 80; i++ { // the forest trains after 64 steps
		s.step()
	}
	assert.Empty(t, st.anomalies, "quiet")
	s.faulty = true
	s.step()
	var vec []domain.Anomaly
	for _, a := range st.anomalies {
		if a.Signal == SignalVector {
			vec = append(vec, a)
		}
	}
	require.NotEmpty(t, vec, "the forest sees the RED vectors change")
	assert.Equal(t, "isolation-forest", vec[0].Detector)
	assert.Contains(t, vec[0].Explanation, "was not seen in the last")
	assert.NotEmpty(t, vec[0].IncidentID, "and it joins the incident")
}

func TestUserRules(t *testing.T) {
	s, st := newShop(t)
	ctx := context.Background()
	_, err := s.e.AddRule(ctx, domain.Rule{Tenant: "t1", Name: "bad", Kind: domain.RuleThreshold, Service: "checkout", Signal: "latency", Op: ">"})
	assert.ErrorIs(t, err, ErrBadRule)
	_, err = s.e.AddRule(ctx, domain.Rule{Tenant: "t1", Name: "bad", Kind: domain.RuleSLO, Service: "checkout", Objective: 99.9})
	assert.ErrorIs(t, err, ErrBadRule)
	th, err := s.e.AddRule(ctx, domain.Rule{Tenant: "t1", Name: "checkout errors", Kind: domain.RuleThreshold, Service: "checkout",
		Signal: SignalErrorRatio, Op: ">", Value: 0.05, ForNano: int64(10 * time.Second)})
	require.NoError(t, err)
	_, err = s.e.AddRule(ctx, domain.Rule{Tenant: "t1", Name: "payment SLO", Kind: domain.RuleSLO, Service: "payment", Objective: 0.999})
	require.NoError(t, err)
	for i := 0; i < 12; i++ {
		s.step()
	}
	assert.Empty(t, st.anomalies)
	s.faulty = true
	s.step()
	s.step()
	s.step()
	bySeries := map[string]domain.Anomaly{}
	for _, a := range st.anomalies {
		bySeries[a.Series] = a
	}
	require.Contains(t, bySeries, "rule:checkout errors")
	assert.Equal(t, "high", bySeries["rule:checkout errors"].Severity)
	assert.Contains(t, bySeries["rule:checkout errors"].Explanation, "past 5.0%")
	require.Contains(t, bySeries, "rule:payment SLO")
	slo := bySeries["rule:payment SLO"]
	assert.Equal(t, "critical", slo.Severity, "10% errors burn a 99.9% SLO's budget fast enough to page")
	assert.Contains(t, slo.Explanation, "burning its error budget")
	assert.Equal(t, signals.SLOBurn, slo.Signal, "a burn rate, not an error ratio")
	assert.Contains(t, slo.Detector, "SLO 99.9%")

	require.NoError(t, s.e.DeleteRule(ctx, "t1", th.ID))
	rs, _ := st.Rules(ctx, "t1")
	assert.Len(t, rs, 1)
	assert.ErrorIs(t, s.e.DeleteRule(ctx, "t2", rs[0].ID), storage.ErrNotFound)

	// Rules survive a restart: a new engine loads them.
	e2 := newGrouped(t, DefaultEngineConfig(), st)
	require.NoError(t, e2.LoadRules(ctx))
	assert.Len(t, e2.rules["t1"], 1)
}

func TestLowAnomaliesDoNotOpenIncidents(t *testing.T) {
	st := newFakeStore()
	e := newGrouped(t, DefaultEngineConfig(), st)
	a := &domain.Anomaly{Tenant: "t1", ID: "a1", Series: "red:cart:rate", Service: "cart", Signal: SignalRate, Severity: "low", StartNano: 1}
	e.mu.Lock()
	e.fresh = append(e.fresh, a)
	e.mu.Unlock()
	e.Tick(context.Background()) // no step is due: the tick groups and stores what opened
	assert.Empty(t, st.incidents)
	assert.Empty(t, a.IncidentID)
	require.Contains(t, st.anomalies, "a1", "still recorded")
}

// TestSLOIncidentTitle: an SLO burn opens an incident titled in the SLO's
// terms, a burn rate against the objective, never an error ratio.
func TestSLOIncidentTitle(t *testing.T) {
	st := newFakeStore()
	e := newGrouped(t, DefaultEngineConfig(), st)
	br, err := NewBurnRate(0.999)
	require.NoError(t, err)
	v, _ := br.Evaluate()
	a := &domain.Anomaly{Tenant: "t1", ID: "a1", Series: "rule:payment SLO", Service: "payment", Signal: signals.SLOBurn,
		Severity: "critical", StartNano: 1, Score: 103, Observed: 103, Expected: 1, Detector: v.Detector}
	e.mu.Lock()
	e.fresh = append(e.fresh, a)
	e.mu.Unlock()
	e.Tick(context.Background())
	require.Len(t, st.incidents, 1)
	for _, in := range st.incidents {
		assert.Equal(t, "payment: error budget burning 103× (SLO 99.9%)", in.Title)
	}
}

func TestOneFailedRequestIsNotAnAnomaly(t *testing.T) {
	st := newFakeStore()
	e := newGrouped(t, DefaultEngineConfig(), st)
	clock := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 40; i++ {
		var evs []domain.Event
		for j := 0; j < 13; j++ {
			status := domain.StatusOK
			if i == 35 && j == 0 { // one deadlock: 1 of 13 is 7.7%
				status = domain.StatusError
			}
			evs = append(evs, domain.Event{Tenant: "t1", TimeUnixNano: clock.UnixNano() + int64(j), Kind: domain.KindSpan,
				Service: "postgres", Name: "INSERT cart_items", DurationNano: 2e6, Status: status, SampleRate: 1})
		}
		e.Ingest(evs, nil)
		clock = clock.Add(10 * time.Second)
		e.now = func() time.Time { return clock.Add(4 * time.Second) }
		e.Tick(context.Background())
	}
	assert.Empty(t, st.anomalies, "within chance at a low baseline")
}

// TestAnomalyOpensAtItsFirstBadPoint: a fault that begins 6 s into a step
// opens its anomaly (and its incident) at its first slow span, not at the
// step's start.
func TestAnomalyOpensAtItsFirstBadPoint(t *testing.T) {
	s, st := newShop(t)
	for i := 0; i < 30; i++ {
		s.step()
	}
	start := s.clock
	var evs []domain.Event
	for i := 0; i < 30; i++ {
		at := start.Add(time.Duration(i) * 300 * time.Millisecond)
		d := 40 + s.rng.NormFloat64()*5
		if at.Sub(start) >= 6*time.Second {
			d += 1500
		}
		evs = append(evs, domain.Event{Tenant: "t1", TimeUnixNano: at.UnixNano(), Kind: domain.KindSpan, Service: "payment",
			Name: "payment op", DurationNano: int64(d * 1e6), Status: domain.StatusOK, SampleRate: 1})
	}
	s.e.Ingest(evs, nil)
	s.clock = start.Add(10 * time.Second)
	s.e.now = func() time.Time { return s.clock.Add(4 * time.Second) }
	s.e.Tick(context.Background())
	var p99 *domain.Anomaly
	for _, a := range st.anomalies {
		if a.Series == "red:payment:p99_ms" {
			a := a
			p99 = &a
		}
	}
	require.NotNil(t, p99, "payment's p99 is anomalous: %v", st.anomalies)
	// The step keeps its 8 slowest spans with their times: the anomaly
	// opens at the earliest of those past the band, never before the first
	// bad point and never at the step's start.
	assert.GreaterOrEqual(t, p99.StartNano, start.Add(6*time.Second).UnixNano(), "not before the first slow span")
	assert.Less(t, p99.StartNano, start.Add(7*time.Second).UnixNano(), "close to it")
	for _, in := range st.incidents {
		assert.GreaterOrEqual(t, in.OpenedNano, start.Add(6*time.Second).UnixNano(), "the incident opened no earlier")
	}
}

// TestAcceptNewNormal: a person accepts the level of a lasting fault as
// the new normal; its anomalies end, the series learn it, and the incident
// resolves while the level holds.
func TestAcceptNewNormal(t *testing.T) {
	s, st := newShop(t)
	ctx := context.Background()
	id := s.openIncident(st, 30, 20)
	lc := incidents.New(st, s.e.Broker(), nil, nil)
	in, err := lc.AcceptNewNormal(ctx, "t1", id, "ann")
	require.NoError(t, err)
	assert.Equal(t, "accepted", in.Timeline[len(in.Timeline)-1].Kind)
	s.step()
	for _, a := range st.anomalies {
		if a.IncidentID == id && a.Signal == SignalP99 {
			assert.NotZero(t, a.EndNano, "%s ended once accepted", a.Series)
		}
	}
	// The fault's level goes on; after the warm-up it is the normal.
	for i := 0; i < 80; i++ {
		s.step()
	}
	assert.Equal(t, domain.IncidentResolved, st.incidents[id].Status, "resolved while the accepted level holds")
	for _, a := range st.anomalies {
		if a.Signal == SignalP99 {
			assert.NotZero(t, a.EndNano, "no p99 anomaly open at the accepted level: %s", a.Series)
		}
	}
	_, err = lc.AcceptNewNormal(ctx, "t1", id, "ann")
	assert.ErrorIs(t, err, incidents.ErrTransition, "not on a resolved incident")
}

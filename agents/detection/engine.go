package detection

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/agents/topology"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/updates"
)

// EngineConfig configures the streaming detection of one process.
type EngineConfig struct {
	// Resolution is the step of the derived series (default 10 s).
	Resolution time.Duration
	// Grace is how long after its end a step is closed and scored: data
	// later than that is not seen by the detectors (default 3 s).
	Grace time.Duration
	// Detector is the per-series detector configuration; the engine sets
	// a floor for the spread of each signal on top of it.
	Detector Config
	// MaxSeries caps the series watched per tenant (default 10,000); what
	// is not watched is counted in inquest_detection_unwatched_total.
	MaxSeries int
	// DropAfter forgets a series that had no data this long (30 min).
	DropAfter time.Duration
	// EndAfter is how many steps back inside the band end an anomaly (6).
	EndAfter int
	// MinRequests in a step give an error ratio (10); MinSpans a p99 (5).
	MinRequests float64
	MinSpans    int
	// MinErrors failed requests in a step may raise an error-ratio anomaly
	// (3): fewer are within chance at a low baseline.
	MinErrors float64
	// WatchMetrics watches every ingested metric series too (histogram
	// buckets excepted): gauges by value, counters by rate.
	WatchMetrics bool
	// Broker carries anomalies and incident changes to subscribers; the
	// process's one broker, shared with the incident lifecycle (a broker
	// of its own if nil).
	Broker *updates.Broker
}

// DefaultEngineConfig watches at 10 s with a short warm-up (80 s), so that
// a new service is watched within minutes.
func DefaultEngineConfig() EngineConfig {
	d := DefaultConfig()
	d.Warmup = 8
	return EngineConfig{Resolution: 10 * time.Second, Grace: 3 * time.Second, Detector: d, MaxSeries: 10_000,
		DropAfter: 30 * time.Minute, EndAfter: 6,
		MinRequests: 10, MinSpans: 5, MinErrors: 3, WatchMetrics: true}
}

// signalConfigs gives each signal its floor: a spread below it is noise
// nobody should be woken for (an error ratio moving by less than a
// percentage point, a p99 by less than 5 ms or 10%).
func signalConfigs(base Config) map[string]*Config {
	mk := func(rel, abs float64) *Config {
		c := base
		c.RelScale, c.AbsScale = rel, abs
		return &c
	}
	value := mk(base.RelScale, base.AbsScale)
	// Metric series come at their exporters' intervals, which beat against
	// the step: they learn for longer before they may speak.
	value.Warmup = max(base.Warmup, DefaultConfig().Warmup)
	return map[string]*Config{
		SignalRate:       mk(0.1, 0.1),
		SignalErrorRatio: mk(0, 0.01),
		SignalP99:        mk(0.1, 5),
		SignalValue:      value,
	}
}

// watched is one series under watch.
type watched struct {
	tenant, service, operation, signal, name string
	det                                      *Series
	lastSeen                                 int64
	open                                     *domain.Anomaly
	episode                                  Episode
	prevValue                                float64 // a counter's last value
	vec                                      *VectorDetector
	vector                                   []float64 // the last RED vector scored
	rule                                     string    // the user rule's name, for rule series
	fixedSeverity                            string    // a rule's severity
	burn                                     BurnWindow
}

// Store is what the engine reads and writes.
type Store interface {
	storage.RuleStore
	PutAnomalies(ctx context.Context, as []domain.Anomaly) error
	topology.Source
}

// Engine watches what the writers store: it derives RED series per
// service and operation and watches metric series, scores every step,
// turns anomalous stretches into anomalies and groups them into incidents.
type Engine struct {
	cfg     EngineConfig
	signals map[string]*Config
	store   Store
	logger  *slog.Logger
	now     func() time.Time
	rng     *rand.Rand
	scratch []float32

	stepMu  sync.Mutex
	steps   map[int64]map[redKey]*redStep
	metrics map[int64]map[metricKey]*metricStep
	closed  int64 // steps before this are closed

	mu        sync.Mutex
	series    map[string]*watched
	perTenant map[string]int
	topo      *topology.Cache
	sink      Sink
	cancel    context.CancelFunc
	running   sync.WaitGroup
	stopOnce  sync.Once
	fresh     []*domain.Anomaly // opened in the steps being scored
	broker    *updates.Broker
	rules     map[string][]*ruleState
	poll      *PollConfig
	leader    bool
	polled    int64               // the last step read in poll mode
	tenants   map[string]struct{} // tenants seen, for poll mode

	unwatched, late, anomaliesTotal prometheus.Counter
	watchedSeries                   prometheus.GaugeFunc
}

// NewEngine builds an engine; Start runs it.
func NewEngine(cfg EngineConfig, store Store, reg prometheus.Registerer, logger *slog.Logger) (*Engine, error) {
	if err := cfg.Detector.Validate(); err != nil {
		return nil, err
	}
	if cfg.Resolution <= 0 || cfg.EndAfter <= 0 || cfg.MaxSeries <= 0 {
		return nil, fmt.Errorf("detection: resolution, end-after and max series must be positive")
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e := &Engine{cfg: cfg, signals: signalConfigs(cfg.Detector), store: store, logger: logger, now: time.Now,
		rng: rand.New(rand.NewPCG(1, 2)), steps: map[int64]map[redKey]*redStep{}, metrics: map[int64]map[metricKey]*metricStep{},
		series: map[string]*watched{}, perTenant: map[string]int{}, sink: noSink{},
		rules: map[string][]*ruleState{}, tenants: map[string]struct{}{},
		broker: cfg.Broker}
	if e.broker == nil {
		e.broker = updates.NewBroker(reg)
	}
	e.topo = topology.NewCache(store, 15*time.Minute, 30*time.Second, logger)
	e.topo.SetClock(func() time.Time { return e.now() })
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		if reg != nil {
			reg.MustRegister(c)
		}
		return c
	}
	e.unwatched = counter("inquest_detection_unwatched_total", "Series not watched because their tenant is at its cap.")
	e.late = counter("inquest_detection_late_records_total", "Records that arrived after their step was scored.")
	e.anomaliesTotal = counter("inquest_detection_anomalies_total", "Anomalies opened.")
	e.watchedSeries = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "inquest_detection_watched_series",
		Help: "Series under watch."}, func() float64 {
		e.mu.Lock()
		defer e.mu.Unlock()
		return float64(len(e.series))
	})
	if reg != nil {
		reg.MustRegister(e.watchedSeries)
	}
	return e, nil
}

// Broker is where anomalies and incident changes are published.
func (e *Engine) Broker() *updates.Broker { return e.broker }

// SetClock replaces the wall clock, for simulations that play hours of
// traffic in seconds (Tick closes the steps the clock has passed). Set it
// before the engine is used.
func (e *Engine) SetClock(now func() time.Time) { e.now = now }

// SetSink hands what the detector finds to sink (agents/incidents'
// Grouper). Call it before Start.
func (e *Engine) SetSink(sink Sink) { e.sink = sink }

// Ingest takes what the writer stored. Spans feed the RED series, deploy
// events the grouping, samples the metric series.
func (e *Engine) Ingest(events []domain.Event, samples []domain.Sample) {
	if e.poll != nil {
		// The steps are read back from the store; only note the tenants.
		e.mu.Lock()
		for i := range events {
			e.tenants[events[i].Tenant] = struct{}{}
		}
		e.mu.Unlock()
		return
	}
	res := int64(e.cfg.Resolution)
	var deploys []domain.Event
	e.stepMu.Lock()
	for i := range events {
		ev := &events[i]
		if ev.Kind == domain.KindEvent && ev.Name == "deploy" {
			deploys = append(deploys, *ev)
			continue
		}
		if ev.Kind != domain.KindSpan {
			continue
		}
		step := ev.TimeUnixNano - ev.TimeUnixNano%res
		if step < e.closed {
			e.late.Inc()
			continue
		}
		m := e.steps[step]
		if m == nil {
			m = map[redKey]*redStep{}
			e.steps[step] = m
		}
		for _, k := range []redKey{{ev.Tenant, ev.Service, ""}, {ev.Tenant, ev.Service, ev.Name}} {
			s := m[k]
			if s == nil {
				s = &redStep{}
				m[k] = s
			}
			s.add(ev, e.rng)
		}
	}
	if e.cfg.WatchMetrics {
		for i := range samples {
			e.addSample(&samples[i])
		}
	}
	e.stepMu.Unlock()
	if len(deploys) > 0 {
		e.mu.Lock()
		for _, d := range deploys {
			e.sink.Deployed(d)
		}
		e.mu.Unlock()
	}
}

func (e *Engine) addSample(m *domain.Sample) {
	if len(m.Name) > 7 && m.Name[len(m.Name)-7:] == "_bucket" {
		return // one series per histogram bucket is too many to watch
	}
	stale := domain.IsStaleMarker(m.Value)
	if !stale && (math.IsNaN(m.Value) || math.IsInf(m.Value, 0)) {
		return // an empty summary quantile: no value to score
	}
	res := int64(e.cfg.Resolution)
	step := m.TimeUnixNano - m.TimeUnixNano%res
	if step < e.closed {
		e.late.Inc()
		return
	}
	mm := e.metrics[step]
	if mm == nil {
		mm = map[metricKey]*metricStep{}
		e.metrics[step] = mm
	}
	k := metricKey{m.Tenant, m.SeriesID}
	s := mm[k]
	if s == nil {
		svc, _ := m.Labels.Get("job")
		s = &metricStep{name: metricLabel(m), service: svc, counter: m.Type == domain.MetricCounter}
		mm[k] = s
	}
	switch {
	case stale:
		s.endT = max(s.endT, m.TimeUnixNano)
	case m.TimeUnixNano >= s.lastT:
		s.last, s.lastT = m.Value, m.TimeUnixNano
	}
}

// closedStep is one step's data, ready to score.
type closedStep struct {
	start   int64
	red     map[redKey]*redStep
	metrics map[metricKey]*metricStep
}

// Start loads the rules, then scores steps as they close until Shutdown.
// The sink is started first, by whoever made it.
func (e *Engine) Start(ctx context.Context) error {
	ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := e.LoadRules(ctx); err != nil {
		e.logger.Error("loading detection rules failed; user rules are not watched", "err", err)
	}
	tick := e.cfg.Resolution / 5
	if tick < 100*time.Millisecond {
		tick = 100 * time.Millisecond
	}
	e.running.Add(1)
	go func() {
		defer e.running.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				e.Tick(ctx)
			}
		}
	}()
	return nil
}

// Shutdown stops scoring and waits for a tick under way. Idempotent.
func (e *Engine) Shutdown(context.Context) error {
	e.stopOnce.Do(func() {
		if e.cancel != nil {
			e.cancel()
		}
		e.running.Wait()
	})
	return nil
}

// Tick closes and scores every step that ended Grace ago, then resolves
// incidents that have been quiet long enough. Start calls it; tests may
// call it with a clock of their own.
func (e *Engine) Tick(ctx context.Context) {
	now := e.now().UnixNano()
	res := int64(e.cfg.Resolution)
	e.stepMu.Lock()
	grace := int64(e.cfg.Grace)
	var due []int64
	for st := range e.steps {
		if st+res+grace <= now {
			due = append(due, st)
		}
	}
	for st := range e.metrics {
		if st+res+grace <= now && !containsInt(due, st) {
			due = append(due, st)
		}
	}
	sortInts(due)
	var work []closedStep
	for _, s := range due {
		work = append(work, closedStep{s, e.steps[s], e.metrics[s]})
		delete(e.steps, s)
		delete(e.metrics, s)
	}
	// Every step that ended Grace ago is closed, with data or not.
	if last := now - grace - res; last >= 0 {
		if next := last - last%res + res; next > e.closed {
			e.closed = next
		}
	}
	e.stepMu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.poll != nil {
		if !e.lead(ctx) {
			return
		}
		work = e.pollSteps(ctx, now)
	}
	e.sink.Sync(ctx)
	e.acceptNormals(ctx, now)
	for _, w := range work {
		e.scoreStep(ctx, w.start, w.red, w.metrics)
	}
	e.sink.Group(ctx, e.fresh)
	for _, a := range e.fresh {
		e.persistAnomaly(ctx, a)
		e.broker.Publish(updates.Update{Anomaly: a})
	}
	e.fresh = e.fresh[:0]
	e.housekeeping(ctx, now)
}

// scoreStep observes every series of one step; series seen before but
// silent in this step observe a rate of zero.
func (e *Engine) scoreStep(ctx context.Context, start int64, red map[redKey]*redStep, metrics map[metricKey]*metricStep) {
	res := e.cfg.Resolution.Seconds()
	seen := map[string]bool{}
	for k, s := range red {
		rate := s.count / res
		e.observe(ctx, k.tenant, k.service, k.operation, SignalRate, "", start, rate, seen, true)
		if s.count >= e.cfg.MinRequests {
			// A step with fewer than MinErrors failures teaches the baseline
			// but raises nothing: one failed request of 13 is 7.7%.
			e.observe(ctx, k.tenant, k.service, k.operation, SignalErrorRatio, "", start, s.errors/s.count, seen, s.errors >= e.cfg.MinErrors)
			e.dateOnset(k, SignalErrorRatio, start, s)
		}
		if s.spans() >= e.cfg.MinSpans {
			p99 := s.p99()
			e.observe(ctx, k.tenant, k.service, k.operation, SignalP99, "", start, p99, seen, true)
			e.dateOnset(k, SignalP99, start, s)
		}
	}
	e.scoreVectors(ctx, start, red)
	e.scoreRules(ctx, start, red)
	for k, s := range metrics {
		if s.endT > s.lastT {
			// A staleness marker after the step's last value: the series
			// ended (its target went away), which is not an anomaly.
			e.forgetMetric(k.tenant, s)
			continue
		}
		v := s.last
		signal := SignalValue
		if s.counter {
			key := seriesKey(k.tenant, s.service, "", SignalRate, s.name)
			w := e.series[key]
			if w == nil {
				// The first point of a counter gives no rate; remember it.
				if w = e.watch(k.tenant, s.service, "", SignalRate, s.name, key); w != nil {
					w.prevValue, w.lastSeen = v, start
				}
				continue
			}
			signal = SignalRate
			prev := w.prevValue
			w.prevValue = v
			if v < prev {
				v = v / res // a reset: the new count is the increase
			} else {
				v = (v - prev) / res
			}
		}
		e.observe(ctx, k.tenant, s.service, "", signal, s.name, start, v, seen, true)
	}
	for key, w := range e.series {
		if seen[key] || w.signal != SignalRate || w.name != "" {
			continue
		}
		if start-w.lastSeen <= int64(e.cfg.DropAfter) && start > w.lastSeen {
			e.observeSeries(ctx, w, start, 0, true)
		}
	}
}

// dateOnset moves the start of an anomaly the step just opened from the
// step's start to its first bad point: an incident opened by a fault at
// 12:00:07 says 12:00:07, not 12:00:00.
func (e *Engine) dateOnset(k redKey, signal string, start int64, s *redStep) {
	w := e.series[seriesKey(k.tenant, k.service, k.operation, signal, "")]
	if w == nil || w.open == nil || w.open.StartNano != start || w.open.EndNano != 0 {
		return
	}
	w.open.StartNano = s.onset(signal, start, w.open.Upper)
}

// forgetMetric drops a metric series' state; a later point starts it anew.
// A series with an open anomaly is left for housekeeping to close.
func (e *Engine) forgetMetric(tenant string, s *metricStep) {
	for _, signal := range []string{SignalValue, SignalRate} {
		key := seriesKey(tenant, s.service, "", signal, s.name)
		if w := e.series[key]; w != nil && w.open == nil {
			delete(e.series, key)
			e.perTenant[w.tenant]--
		}
	}
}

func seriesKey(tenant, service, operation, signal, name string) string {
	if name != "" {
		return tenant + "\x00metric\x00" + name + "\x00" + signal
	}
	return tenant + "\x00red\x00" + service + "\x00" + operation + "\x00" + signal
}

// watch starts watching a series, unless its tenant is at the cap.
func (e *Engine) watch(tenant, service, operation, signal, name, key string) *watched {
	if e.perTenant[tenant] >= e.cfg.MaxSeries {
		e.unwatched.Inc()
		return nil
	}
	cfg := e.signals[signal]
	if name != "" || cfg == nil {
		cfg = e.signals[SignalValue]
	}
	if cap(e.scratch) < cfg.Window {
		e.scratch = make([]float32, 0, cfg.Window)
	}
	w := &watched{tenant: tenant, service: service, operation: operation, signal: signal, name: name,
		det: NewSeries(*cfg, &e.scratch)}
	e.series[key] = w
	e.perTenant[tenant]++
	return w
}

// observe scores a point of a univariate series; mayRaise false lets the
// point teach the baseline without raising an anomaly.
func (e *Engine) observe(ctx context.Context, tenant, service, operation, signal, name string, start int64, v float64, seen map[string]bool, mayRaise bool) {
	key := seriesKey(tenant, service, operation, signal, name)
	seen[key] = true
	w := e.series[key]
	if w == nil {
		if w = e.watch(tenant, service, operation, signal, name, key); w == nil {
			return
		}
	}
	e.observeSeries(ctx, w, start, v, mayRaise)
}

// observeSeries scores one point of a univariate series.
func (e *Engine) observeSeries(ctx context.Context, w *watched, start int64, v float64, mayRaise bool) {
	cfg := e.signals[w.signal]
	if w.name != "" {
		cfg = e.signals[SignalValue]
	}
	w.lastSeen = start
	verdict := w.det.Observe(cfg, start, v)
	if !mayRaise {
		verdict.Anomalous = false
	}
	e.advance(ctx, w, start, v, verdict)
}

// scoreVectors scores each busy service's RED vector: its own rate, error
// ratio and p99, and the worst error ratio and p99 among the services it
// calls (its neighbours in the service graph), so that the forest learns
// what the service looks like when its dependencies do.
func (e *Engine) scoreVectors(ctx context.Context, start int64, red map[redKey]*redStep) {
	res := e.cfg.Resolution.Seconds()
	for k, s := range red {
		if k.operation != "" || s.count < e.cfg.MinRequests || s.spans() < e.cfg.MinSpans {
			continue
		}
		var nErr, nP99 float64
		for _, ed := range e.topo.Graph(ctx, k.tenant).Edges {
			if ed.Source != k.service {
				continue
			}
			if c := red[redKey{k.tenant, ed.Target, ""}]; c != nil && c.count > 0 {
				nErr = math.Max(nErr, c.errors/c.count)
				if c.spans() > 0 {
					nP99 = math.Max(nP99, c.p99())
				}
			}
		}
		e.observeVector(ctx, k.tenant, k.service, start, []float64{s.count / res, s.errors / s.count, s.p99(), nErr, nP99})
	}
}

// observeVector scores a service's RED vector with its isolation forest.
func (e *Engine) observeVector(ctx context.Context, tenant, service string, start int64, x []float64) {
	key := seriesKey(tenant, service, "", SignalVector, "")
	w := e.series[key]
	if w == nil {
		if w = e.watch(tenant, service, "", SignalVector, "", key); w == nil {
			return
		}
		w.det, w.vec = nil, NewVectorDetector(uint64(len(e.series)))
	}
	w.lastSeen = start
	v := w.vec.Observe(x)
	w.vector = x
	e.advance(ctx, w, start, v.Score, v)
}

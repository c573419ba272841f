// Package demo plays a small web shop (frontend → checkout → cart, payment,
// inventory, shipping → postgres) and sends its traces, logs, RED metrics
// and per-service CPU and memory through the real OpenTelemetry SDK
// exporters to an OTLP endpoint, so that a first run of Inquest has
// something true-to-life to look at. At a scheduled time a fault from the
// scenario library begins — by default a bad deploy of payment 2.3.1 that
// makes requests with payment_provider=stripe_v3 slow and error-prone,
// announced by a deploy change event — which later stages detect and
// investigate.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"go.opentelemetry.io/otel/attribute"
)

// Config configures the generator.
type Config struct {
	// OTLPEndpoint is the host:port of an OTLP/gRPC receiver.
	OTLPEndpoint string
	// EventsURL receives the deploy change event as JSON.
	EventsURL string
	// Rate is shop requests per second.
	Rate float64
	// FaultAfter is when the scenario's fault begins, after Start.
	FaultAfter time.Duration
	// Scenario names the fault (DefaultScenario, the bad deploy, when
	// empty); Scenarios lists them.
	Scenario string
	// Seed makes runs repeatable; 0 picks one.
	Seed uint64
	// MetricInterval is how often metrics are exported.
	MetricInterval time.Duration
	// Authorization, when set, is sent as the authorization header of
	// every export and of the deploy event ("Bearer …").
	Authorization string
	// Simulated, when set, replaces the OTLP endpoint and the events URL:
	// the shop's telemetry goes to these exporters and its deploy event to
	// OnChange, and time is what the caller passes to Tick (soak tests
	// play hours in seconds this way).
	Simulated *Simulated
}

// Simulated is where a shop on a simulated clock sends what it makes.
type Simulated struct {
	Spans   sdktrace.SpanExporter
	Logs    sdklog.Exporter
	Metrics sdkmetric.Exporter
	// OnChange takes the deploy change event (the JSON body the events
	// endpoint would get).
	OnChange func(event map[string]any)
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Simulated == nil && (c.OTLPEndpoint == "" || c.EventsURL == "") {
		return errors.New("demo: OTLP endpoint and events URL are required")
	}
	if c.Rate <= 0 || c.FaultAfter < 0 {
		return errors.New("demo: rate must be positive and fault-after not negative")
	}
	if c.Scenario != "" {
		if _, err := ScenarioNamed(c.Scenario); err != nil {
			return err
		}
	}
	return nil
}

// Versions of the shop's services; payment moves to BadVersion at the fault.
const (
	GoodVersion = "2.3.0"
	BadVersion  = "2.3.1"
)

// service is one instrumented shop service with its own SDK providers.
type service struct {
	name, version string
	tp            *sdktrace.TracerProvider
	lp            *sdklog.LoggerProvider
	mp            *sdkmetric.MeterProvider
	tracer        trace.Tracer
	logger        log.Logger
	duration      metric.Float64Histogram
}

// Generator runs the shop.
type Generator struct {
	cfg    Config
	logger *slog.Logger
	conn   *grpc.ClientConn
	rng    *rand.Rand

	mu       sync.Mutex
	services map[string]*service
	retired  []*service

	scenario Scenario
	faultAt  time.Time
	faulted  bool
	fault    *fault            // what the scenario changed, once it began
	reliefs  map[string]*fault // by proposal: the part of the fault its remediation took away

	// metrics draw their noise from their own source: the SDK reads
	// gauges on its own goroutine.
	mmu    sync.Mutex
	mrng   *rand.Rand
	carry  float64 // requests owed to the next tick
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New builds a generator; Start runs it.
func New(cfg Config, logger *slog.Logger) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	if cfg.MetricInterval <= 0 {
		cfg.MetricInterval = 10 * time.Second
	}
	if cfg.Scenario == "" {
		cfg.Scenario = DefaultScenario
	}
	sc, err := ScenarioNamed(cfg.Scenario)
	if err != nil {
		return nil, err
	}
	return &Generator{cfg: cfg, logger: logger, rng: rand.New(rand.NewPCG(cfg.Seed, 7)), mrng: rand.New(rand.NewPCG(cfg.Seed, 11)),
		services: map[string]*service{}, scenario: sc}, nil
}

var versions = map[string]string{
	"frontend": "1.8.0", "checkout": "3.1.2", "cart": "2.0.4", "payment": GoodVersion,
	"inventory": "1.4.1", "shipping": "0.9.7", "postgres": "16.4",
}

// Start connects the exporters and begins sending traffic.
func (g *Generator) Start(ctx context.Context) error {
	if g.cfg.Simulated != nil {
		return errors.New("demo: a simulated shop is driven by StartAt and Tick")
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if g.cfg.Authorization != "" {
		opts = append(opts, grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
			invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
			return invoker(metadata.AppendToOutgoingContext(ctx, "authorization", g.cfg.Authorization), method, req, reply, cc, callOpts...)
		}))
	}
	conn, err := grpc.NewClient(g.cfg.OTLPEndpoint, opts...)
	if err != nil {
		return fmt.Errorf("demo: connect %s: %w", g.cfg.OTLPEndpoint, err)
	}
	g.conn = conn
	if err := g.open(ctx, time.Now()); err != nil {
		return err
	}
	ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.done = make(chan struct{})
	go g.loop(ctx)
	return nil
}

// StartAt sets up a simulated shop whose clock starts at start; Tick then
// plays each 100 ms of it.
func (g *Generator) StartAt(ctx context.Context, start time.Time) error {
	if g.cfg.Simulated == nil {
		return errors.New("demo: StartAt needs Config.Simulated")
	}
	return g.open(ctx, start)
}

func (g *Generator) open(ctx context.Context, start time.Time) error {
	for name, v := range versions {
		s, err := g.newService(ctx, name, v, g.rng.IntN(3))
		if err != nil {
			return err
		}
		g.services[name] = s
	}
	g.faultAt = start.Add(g.cfg.FaultAfter)
	return nil
}

// Tick plays 100 ms of the shop ending at now: the requests due and, once
// now passes the fault time, the scenario's fault.
func (g *Generator) Tick(ctx context.Context, now time.Time) {
	if !g.Faulted() && !now.Before(g.faultAt) {
		g.begin(ctx, now)
	}
	g.carry += g.cfg.Rate / 10 * g.rateFactor()
	for ; g.carry >= 1; g.carry-- {
		g.request(ctx, now)
	}
}

// newService starts a service's providers as instance name-instance. The
// caller picks the instance: g.rng belongs to the traffic loop, and a
// remediation redeploys from an HTTP handler's goroutine.
func (g *Generator) newService(ctx context.Context, name, version string, instance int) (*service, error) {
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(name), semconv.ServiceVersion(version),
		semconv.ServiceInstanceID(fmt.Sprintf("%s-%d", name, instance)),
		semconv.DeploymentEnvironment("demo"), attribute.String("cloud.region", "us-east-1"))
	s := &service{name: name, version: version}
	if sim := g.cfg.Simulated; sim != nil {
		// Spans and logs as they end; metrics when the caller collects.
		s.tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(sim.Spans))
		s.lp = sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(sim.Logs)))
		s.mp = sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(sim.Metrics,
			sdkmetric.WithInterval(time.Hour))))
	} else {
		te, err := otlptracegrpc.New(ctx, otlptracegrpc.WithGRPCConn(g.conn))
		if err != nil {
			return nil, fmt.Errorf("demo: trace exporter: %w", err)
		}
		le, err := otlploggrpc.New(ctx, otlploggrpc.WithGRPCConn(g.conn))
		if err != nil {
			return nil, fmt.Errorf("demo: log exporter: %w", err)
		}
		me, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithGRPCConn(g.conn))
		if err != nil {
			return nil, fmt.Errorf("demo: metric exporter: %w", err)
		}
		s.tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(te, sdktrace.WithBatchTimeout(time.Second), sdktrace.WithMaxQueueSize(8192)))
		s.lp = sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(le, sdklog.WithExportInterval(time.Second))))
		s.mp = sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me, sdkmetric.WithInterval(g.cfg.MetricInterval))))
	}
	s.tracer = s.tp.Tracer("inquest/demo")
	s.logger = s.lp.Logger("inquest/demo")
	var err error
	if s.duration, err = s.mp.Meter("inquest/demo").Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)); err != nil {
		return nil, fmt.Errorf("demo: meter: %w", err)
	}
	if err := g.resourceGauges(s); err != nil {
		return nil, fmt.Errorf("demo: meter: %w", err)
	}
	return s, nil
}

func (g *Generator) loop(ctx context.Context) {
	defer close(g.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			g.Tick(ctx, now)
		}
	}
}

// redeploy restarts a service as another version (new providers, as a real
// deploy makes new processes).
func (g *Generator) redeploy(ctx context.Context, name, version string, instance int) {
	next, err := g.newService(ctx, name, version, instance)
	if err != nil {
		g.logger.Error("demo deploy failed", "err", err)
		return
	}
	g.mu.Lock()
	g.retired = append(g.retired, g.services[name])
	g.services[name] = next
	g.mu.Unlock()
}

// sendChange sends a change event as a deploy tool would: to the events
// endpoint (or the simulation's OnChange).
func (g *Generator) sendChange(ctx context.Context, ev map[string]any) {
	if g.cfg.Simulated != nil {
		g.cfg.Simulated.OnChange(ev)
		return
	}
	body, _ := json.Marshal(ev)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.EventsURL, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if g.cfg.Authorization != "" {
		req.Header.Set("Authorization", g.cfg.Authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.logger.Error("demo: change event not sent", "err", err)
		return
	}
	_ = resp.Body.Close()
}

// FlushMetrics makes every service report its metrics now (a simulated
// shop's are otherwise read only at shutdown).
func (g *Generator) FlushMetrics(ctx context.Context) error {
	g.mu.Lock()
	all := make([]*service, 0, len(g.services))
	for _, s := range g.services {
		all = append(all, s)
	}
	g.mu.Unlock()
	var errs []error
	for _, s := range all {
		errs = append(errs, s.mp.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// Faulted reports whether the scenario's fault has begun.
func (g *Generator) Faulted() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faulted
}

// Shutdown stops the traffic and flushes every exporter. Idempotent.
func (g *Generator) Shutdown(ctx context.Context) error {
	var errs []error
	g.once.Do(func() {
		if g.cancel != nil {
			g.cancel()
			<-g.done
		}
		g.mu.Lock()
		all := append([]*service{}, g.retired...)
		for _, s := range g.services {
			all = append(all, s)
		}
		g.mu.Unlock()
		for _, s := range all {
			errs = append(errs, s.tp.Shutdown(ctx), s.lp.Shutdown(ctx), s.mp.Shutdown(ctx))
		}
		if g.conn != nil {
			errs = append(errs, g.conn.Close())
		}
	})
	return errors.Join(errs...)
}

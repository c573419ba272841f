// Package server assembles one Inquest process from its parts: the store,
// the ingest pipeline and writers, the receivers, GraphQL and the demo, and
// runs them with an orderly start and a graceful, flushing shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/agents/investigate"
	"github.com/inquest/inquest/agents/journey"
	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/assist/ask"
	"github.com/inquest/inquest/assist/tools"
	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/demo"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/ingest/kafkabus"
	"github.com/inquest/inquest/ingest/receiver"
	"github.com/inquest/inquest/ingest/redistail"
	"github.com/inquest/inquest/internal/loop"
	"github.com/inquest/inquest/llm"
	"github.com/inquest/inquest/mcp"
	"github.com/inquest/inquest/notify"
	"github.com/inquest/inquest/resolvers"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/slackapp"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/cache"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/pubsub"
	"github.com/inquest/inquest/storage/updates"
	"github.com/inquest/inquest/usage"
)

// Server is one running Inquest process.
type Server struct {
	tools    *tools.Registry // what MCP and the ask box call
	model    llm.Model       // the language model, when one is configured
	cfg      config.Config
	logger   *slog.Logger
	registry *prometheus.Registry

	embedded *duckdb.Store  // API keys, audit, usage and dead letters; and what no scaled backend took
	store    *storage.Parts // every part, wherever it lives
	pingers  []namedPinger
	promql   storage.PromQLQuerier
	kafka    *kafkabus.Bus
	bus      ingest.Bus
	wal      *ingest.WAL
	pipeline *ingest.Pipeline
	writer   *ingest.Writer
	tail     ingest.Tail
	rtail    *redistail.Tail
	meter    *usage.Meter
	redis    *redis.Client
	receiver *receiver.Receiver
	access   *access
	handler  http.Handler

	httpSrv, otlpSrv, pprofSrv *http.Server
	grpcSrv                    *grpc.Server
	addrs                      Addrs
	demo                       *demo.Generator

	mem     *memGuard      // --memory-limit
	prune   *loop.Periodic // retention of the embedded store (each process has one) and of ClickHouse (writers)
	edges   storage.EdgeFolder
	fold    *loop.Periodic   // the service map's minutes (writers)
	pruners []storage.Pruner // stores pruned besides the embedded one
	detect  *detection.Engine
	grouper *incidents.Grouper // the detector's anomalies into incidents
	updates *updates.Broker    // anomalies and incident changes to subscribers
	// incidents keeps anomalies and incidents: the embedded store, or Redis
	// shared by every replica.
	incidents storage.IncidentStore
	urelay    *pubsub.Relay[updates.Update] // the broker across replicas (Redis)
	// investigations keeps investigations (the embedded store, or Redis);
	// investigator runs them in this process.
	investigations storage.InvestigationStore
	investigator   *investigate.Runner
	// proposals keeps remediation proposals; remediation runs their
	// approval flow; journey connects detection, investigation and
	// remediation, and owns people's changes to incidents.
	proposals   storage.ProposalStore
	remediation *remediate.Flow
	journey     *journey.Journey
	demoDeploy  *remediate.WebhookExecutor // the demo shop's deploy API, with --demo
	slack       *slackapp.App              // the Slack face, when a signing secret is set
	notifier    *notify.Dispatcher

	ready    atomic.Bool
	wg       sync.WaitGroup
	shutOnce sync.Once
	shutErr  error
}

// Addrs are the addresses the listeners are bound to (useful with port 0).
type Addrs struct {
	HTTP, GRPC, OTLPHTTP, Pprof string
}

// New opens the stores and builds every component of the process's role;
// nothing listens yet. Which component runs where:
//
//	component                                   all  gateway  writer
//	receivers, GraphQL, dashboard (newAPI)      yes  yes      -
//	pipeline and bus (newDataPath)              yes  yes      yes
//	writers: bus → stores (newDataPath)         yes  -        yes
//	detection (newDetection)                    yes  -        yes, one leader with Kafka
//	incident lifecycle, streams, notifications  yes  yes      yes
//	investigations (newInvestigations)          yes  yes      yes; started by incidents where detection runs
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var memSource string
	cfg.MemoryLimit, memSource = resolveMemoryLimit(cfg.MemoryLimit)
	logger.Info("memory limit", "bytes", cfg.MemoryLimit, "from", memSource, "duckdb", duckdbMemory(cfg))
	s := &Server{cfg: cfg, logger: logger, registry: prometheus.NewRegistry()}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.mem = newMemGuard(cfg.MemoryLimit, s.registry)
	var err error
	if s.access, err = s.newAccess(); err != nil {
		s.access.close()
		return nil, err
	}
	if s.store, err = s.openStores(ctx); err != nil {
		s.access.close()
		return nil, err
	}
	if err := s.build(ctx); err != nil {
		if s.kafka != nil {
			_ = s.kafka.Shutdown(context.Background())
		}
		if s.wal != nil {
			_ = s.wal.Close() // what it replayed stays in it for the next start
		}
		if s.redis != nil {
			_ = s.redis.Close()
		}
		_ = s.store.Close()
		s.access.close()
		return nil, err
	}
	return s, nil
}

// build makes the components over the open stores, in the order data
// flows through them.
func (s *Server) build(ctx context.Context) error {
	if err := s.newDataPath(ctx); err != nil {
		return err
	}
	r, _ := s.cfg.Retentions() // validated with the config
	pruners := append([]storage.Pruner{s.embedded}, s.pruners...)
	if s.wal != nil {
		pruners = append(pruners, s.wal) // its finished segments, on a quiet server too
	}
	s.prune = newPruner(pruners, r, s.cfg.PruneInterval, s.registry, s.logger)
	s.fold = loop.Every(0, nil)
	if s.edges != nil && s.runsWriter() {
		s.fold = newEdgeFolder(s.edges, s.cfg.ServiceMapFoldInterval, s.registry, s.logger)
	}
	s.newIncidents(s.store)
	s.newNotifier()
	if err := s.newRemediation(s.store); err != nil {
		return err
	}
	if err := s.newInvestigations(s.store); err != nil {
		return err
	}
	if err := s.newDetection(s.store); err != nil {
		return err
	}
	s.newJourney()
	if _, err := slackapp.ParseUsers(s.cfg.SlackUsers); err != nil {
		return err
	}
	s.newAPI()
	return nil
}

// newDataPath builds ingest: the bus, the pipeline, the live tail, usage
// metering and the writers.
func (s *Server) newDataPath(ctx context.Context) error {
	cfg, store := s.cfg, s.store
	var err error
	if s.bus, err = s.openBus(ctx); err != nil {
		return err
	}
	pcfg := ingest.DefaultConfig()
	pcfg.Limits.MaxAge, pcfg.Limits.MaxFuture, pcfg.DedupWindow = cfg.Retention, cfg.MaxFuture, cfg.DedupWindow
	pcfg.Quotas = ingest.QuotaConfig{EventsPerSecond: cfg.TenantEventsPerSecond, Burst: cfg.TenantBurst, BytesPerDay: cfg.TenantBytesPerDay}
	pcfg.Decode.Promote = append([]string{}, cfg.MetricResourceAttributes...)
	if s.pipeline, err = ingest.NewPipeline(pcfg, s.bus, store, s.registry, s.logger); err != nil {
		return err
	}
	s.pipeline.PushBackWhen(s.mem.Pressed, s.mem.Full)
	if cfg.RedisURL != "" {
		// One client for the cache, the tail, incidents and their streams.
		if s.redis, err = cache.DialRedis(cfg.RedisURL); err != nil {
			return err
		}
		s.rtail = redistail.New(s.redis, s.registry, s.logger)
		s.tail = s.rtail
	} else {
		s.tail = ingest.NewLocalTail(s.registry)
	}
	s.meter = usage.NewMeter(store, 30*time.Second, s.logger)
	s.pipeline.OnAccepted(s.meter.Ingest)
	wcfg := ingest.WriterConfig{BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval, Workers: cfg.Writers, Retries: 3}
	if s.kafka != nil {
		// Kafka delivers again what was stored but not committed.
		wcfg.DedupWindow = cfg.DedupWindow
	}
	s.writer, err = ingest.NewWriter(wcfg, s.bus, store, store, store, s.tail, s.registry, s.logger)
	return err
}

// newAPI builds the faces: the receivers, and GraphQL over the service
// (with the query cache in front of the stores).
func (s *Server) newAPI() {
	cfg, store, logger := s.cfg, s.store, s.logger
	s.receiver = receiver.New(receiver.Config{MaxBodyBytes: cfg.MaxBodyBytes, RetryAfter: time.Second}, s.pipeline, logger)
	if s.access.authn != nil {
		auditor := storage.NewAuditor(store, logger)
		s.access.authn.UseAPIKeys(store, func(tenant, id, reason string) {
			// A wrong secret for a known key id is anyone's guess: sampled.
			auditor.WriteSampled(context.Background(), domain.AuditEntry{Tenant: tenant, Actor: "apikey:" + id,
				Action: "auth.api_key", Target: id, Outcome: "failed", Detail: reason}, id+"\x00"+reason)
		})
	}
	var reads storage.Store = store
	if cfg.QueryCache || cfg.RedisURL != "" {
		var c cache.Cache = cache.NewLocal(cfg.QueryCacheSize)
		if s.redis != nil {
			c = cache.NewRedis(s.redis, "inquest:cache:", logger)
		}
		reads = cache.NewStore(store, c, cache.DefaultConfig(), s.registry)
	}
	deps := service.Deps{
		Events: reads, Metrics: reads, PromQL: s.promql, DeadLetters: store, APIKeys: store, Audit: store,
		Incidents: s.incidents, Rules: store, Updates: s.updates,
		Investigations: s.investigations, Investigator: s.investigator,
		Proposals: s.proposals, Remediation: s.remediation,
		Lifecycle: s.journey.Lifecycle(),
		Usage:     s.meter, Pipeline: s.pipeline, Tail: s.tail, PipelineStatus: s.pipelineStatus,
		OnRevoke: func(id string) {
			if s.access.authn != nil {
				s.access.authn.ForgetAPIKey(id)
			}
		},
	}
	if s.detect != nil { // a gateway runs no detector: the service says so
		deps.Detection = s.detect
	}
	svc := service.New(service.Config{MaxRange: cfg.MaxQueryRange, MaxStreams: cfg.MaxSubscriptionsPerTenant, Pressed: s.mem.Pressed,
		MaxScans: cfg.MaxQueriesPerTenant}, deps, logger)
	if cfg.SlackSigningSecret != "" {
		users, _ := slackapp.ParseUsers(cfg.SlackUsers) // checked in build
		scfg := slackapp.Config{BotToken: cfg.SlackBotToken, SigningSecret: []byte(cfg.SlackSigningSecret),
			Channel: cfg.SlackChannel, APIURL: cfg.SlackAPIURL, Users: users}
		// The replay guard outlives a restart: in Redis, shared by every
		// replica, or in the embedded database.
		scfg.FirstSeen = s.embedded.FirstSeen
		if s.redis != nil {
			scfg.FirstSeen = func(ctx context.Context, key string, ttl time.Duration) (bool, error) {
				return s.redis.SetNX(ctx, "inquest:seen:"+key, 1, ttl).Result()
			}
		}
		s.slack = slackapp.New(scfg, svc, logger)
		s.journey.PostTo(s.slack)
	}
	res := &resolvers.Resolver{Service: svc, Authenticated: s.access.authn != nil}
	s.tools = tools.New()
	toolModel, _ := s.model.(llm.ToolModel) // nil: the parser answers
	svc.SetAsker(ask.New(s.tools, svc, toolModel, cfg.PublicURL, logger))
	mcpH := mcp.Handler(mcp.Config{Tools: s.tools, Service: svc, Authenticated: s.access.authn != nil, BaseURL: cfg.PublicURL,
		Version: version(), Metrics: s.registry, Logger: logger})
	s.handler = s.routes(newGraphQL(cfg, res, s.access.authn, s.meter, s.registry, logger), mcpH)
}

// Handler is the main HTTP handler (what :8080 serves).
func (s *Server) Handler() http.Handler { return s.handler }

// Store is the embedded store, for tools and tests that read it directly.
func (s *Server) Store() *duckdb.Store { return s.embedded }

// Pipeline is the ingest pipeline, for in-process importers.
func (s *Server) Pipeline() *ingest.Pipeline { return s.pipeline }

// Addrs returns the bound addresses once Start has returned.
func (s *Server) Addrs() Addrs { return s.addrs }

// component is a part that runs in the background, with Start and an
// idempotent Shutdown.
type component interface {
	Start(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// background lists the process's running parts in start order: the relays
// first, so that nothing published is missed, then what publishes. They
// stop in reverse, after the listeners have closed and the writers have
// flushed.
func (s *Server) background() []component {
	cs := []component{s.mem, s.prune, s.fold}
	if s.rtail != nil {
		cs = append(cs, s.rtail)
	}
	if s.urelay != nil {
		cs = append(cs, s.urelay)
	}
	if s.notifier != nil {
		cs = append(cs, s.notifier)
	}
	if s.grouper != nil {
		cs = append(cs, s.grouper) // takes up the open incidents before detection starts
	}
	if s.detect != nil {
		cs = append(cs, s.detect)
	}
	return append(cs, s.investigator, s.journey, s.meter)
}

// Start starts the background parts and the writers, binds every
// configured listener and serves; it returns once the server accepts data.
// Listeners with an empty address are not started (`inquest import` runs
// with none).
func (s *Server) Start(ctx context.Context) error {
	for _, c := range s.background() {
		if err := c.Start(ctx); err != nil {
			return errors.Join(err, s.Shutdown(context.Background()))
		}
	}
	if s.runsWriter() {
		if err := s.writer.Start(ctx); err != nil {
			return errors.Join(err, s.Shutdown(context.Background()))
		}
	}
	if err := s.listen(); err != nil {
		return errors.Join(err, s.Shutdown(context.Background()))
	}
	s.ready.Store(true)
	if s.addrs != (Addrs{}) {
		attrs := []any{"http", s.addrs.HTTP, "otlp_grpc", s.addrs.GRPC, "otlp_http", s.addrs.OTLPHTTP, "data_dir", s.cfg.DataDir}
		if s.addrs.Pprof != "" {
			// With --pprof-addr 127.0.0.1:0 this is the only way to learn the port.
			attrs = append(attrs, "pprof", s.addrs.Pprof)
		}
		s.logger.Info("inquest is ready", attrs...)
	}
	if s.cfg.Demo {
		if err := s.startDemo(ctx); err != nil {
			return errors.Join(err, s.Shutdown(context.Background()))
		}
	}
	return nil
}

// listen binds the configured listeners of the role and serves on them.
func (s *Server) listen() error {
	serve := func(name, addr string, h http.Handler) (*http.Server, string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, "", fmt.Errorf("%s listen on %s: %w", name, addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: s.cfg.HTTPReadTimeout, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.logger.Error("http server stopped", "listener", name, "err", err)
			}
		}()
		return srv, ln.Addr().String(), nil
	}
	var err error
	if s.cfg.HTTPAddr != "" {
		if s.httpSrv, s.addrs.HTTP, err = serve("http", s.cfg.HTTPAddr, s.handler); err != nil {
			return err
		}
	}
	if s.cfg.OTLPHTTPAddr != "" && s.runsGateway() {
		mux := http.NewServeMux()
		s.receiver.RegisterOTLP(mux)
		if s.otlpSrv, s.addrs.OTLPHTTP, err = serve("otlp-http", s.cfg.OTLPHTTPAddr, sameOrigin(s.cfg.AllowedOrigins, s.access.ingest(mux))); err != nil {
			return err
		}
	}
	if s.cfg.PprofAddr != "" {
		// Every role: writers are where the store's time goes.
		if s.pprofSrv, s.addrs.Pprof, err = serve("pprof", s.cfg.PprofAddr, pprofHandler()); err != nil {
			return err
		}
	}
	if s.cfg.GRPCAddr != "" && s.runsGateway() {
		ln, err := net.Listen("tcp", s.cfg.GRPCAddr)
		if err != nil {
			return fmt.Errorf("grpc listen on %s: %w", s.cfg.GRPCAddr, err)
		}
		s.grpcSrv = grpc.NewServer(grpc.MaxRecvMsgSize(int(s.cfg.MaxBodyBytes)), grpc.ChainUnaryInterceptor(s.access.grpc()),
			grpc.ForceServerCodecV2(receiver.GRPCCodec()))
		s.receiver.RegisterGRPC(s.grpcSrv)
		s.addrs.GRPC = ln.Addr().String()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.grpcSrv.Serve(ln); err != nil {
				s.logger.Error("grpc server stopped", "err", err)
			}
		}()
	}
	return nil
}

// startDemo runs the demo shop against this server's own listeners.
func (s *Server) startDemo(ctx context.Context) error {
	if s.addrs.GRPC == "" || s.addrs.HTTP == "" {
		return errors.New("demo needs the OTLP/gRPC and HTTP listeners")
	}
	dcfg := demo.Config{OTLPEndpoint: s.addrs.GRPC, EventsURL: "http://" + s.addrs.HTTP + "/v1/events",
		Rate: s.cfg.DemoRate, FaultAfter: s.cfg.DemoFaultAfter, Scenario: s.cfg.DemoScenario}
	if s.access.authn != nil {
		// The demo is a client like any other: it gets a token for the
		// default tenant from the server's own key.
		tok, err := s.access.authn.Mint(auth.Principal{Subject: "inquest-demo", Tenant: auth.DefaultTenant, Roles: []string{"ingest"}},
			365*24*time.Hour, s.cfg.AuthJWTIssuer, s.cfg.AuthJWTAudience)
		if err != nil {
			return err
		}
		dcfg.Authorization = "Bearer " + tok
	}
	if s.demoDeploy != nil {
		s.demoDeploy.URL = "http://" + s.addrs.HTTP + "/demo/deploy"
	}
	var err error
	if s.demo, err = demo.New(dcfg, s.logger); err != nil {
		return err
	}
	if err := s.demo.Start(ctx); err != nil {
		return err
	}
	s.logger.Info("demo traffic started", "rate_per_s", s.cfg.DemoRate, "scenario", s.cfg.DemoScenario, "fault_after", s.cfg.DemoFaultAfter)
	return nil
}

// Shutdown stops accepting, flushes everything accepted to the store and
// closes it. It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		s.ready.Store(false)
		var errs []error
		if s.demo != nil {
			errs = append(errs, s.demo.Shutdown(ctx))
		}
		for _, srv := range []*http.Server{s.httpSrv, s.otlpSrv, s.pprofSrv} {
			if srv != nil {
				if err := srv.Shutdown(ctx); err != nil {
					errs = append(errs, err)
					_ = srv.Close()
				}
			}
		}
		if s.grpcSrv != nil {
			stopped := make(chan struct{})
			go func() {
				s.grpcSrv.GracefulStop()
				close(stopped)
			}()
			select {
			case <-stopped:
			case <-ctx.Done():
				s.grpcSrv.Stop()
			}
		}
		s.wg.Wait()
		if s.slack != nil {
			// Executions approved through Slack end before the stores close.
			errs = append(errs, s.slack.Shutdown(ctx))
		}
		if s.runsWriter() {
			errs = append(errs, s.writer.Shutdown(ctx))
		} else {
			errs = append(errs, s.bus.Close())
		}
		if s.kafka != nil {
			errs = append(errs, s.kafka.Shutdown(ctx))
		}
		if s.wal != nil {
			errs = append(errs, s.wal.Close())
		}
		bg := s.background()
		for i := len(bg) - 1; i >= 0; i-- {
			errs = append(errs, bg[i].Shutdown(ctx))
		}
		errs = append(errs, s.store.Close())
		if s.redis != nil {
			errs = append(errs, s.redis.Close())
		}
		s.access.close()
		s.shutErr = errors.Join(errs...)
	})
	return s.shutErr
}

// version is the module version Go stamped, for MCP's server info.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

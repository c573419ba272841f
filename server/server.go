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
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/agents/updates"
	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/demo"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/ingest/kafkabus"
	"github.com/inquest/inquest/ingest/receiver"
	"github.com/inquest/inquest/ingest/redistail"
	"github.com/inquest/inquest/notify"
	"github.com/inquest/inquest/resolvers"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/cache"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/pubsub"
	"github.com/inquest/inquest/usage"
)

// Server is one running Inquest process.
type Server struct {
	cfg      config.Config
	logger   *slog.Logger
	registry *prometheus.Registry

	embedded *duckdb.Store  // API keys, audit, usage and dead letters; and what no scaled backend took
	store    *storage.Parts // every part, wherever it lives
	pingers  []namedPinger
	promql   storage.PromQLQuerier
	kafka    *kafkabus.Bus
	bus      ingest.Bus
	pipeline *ingest.Pipeline
	writer   *ingest.Writer
	tail     ingest.Tail
	rtail    *redistail.Tail
	meter    *usage.Meter
	redis    *redis.Client
	receiver *receiver.Receiver
	access   *access
	handler  http.Handler

	httpSrv, otlpSrv *http.Server
	grpcSrv          *grpc.Server
	addrs            Addrs
	demo             *demo.Generator

	detect  *detection.Engine
	updates *updates.Broker // anomalies and incident changes to subscribers
	// incidents keeps anomalies and incidents: the embedded store, or Redis
	// shared by every replica.
	incidents storage.IncidentStore
	urelay    *pubsub.Relay[updates.Update] // the broker across replicas (Redis)
	notifier  *notify.Dispatcher
	stopBg    context.CancelFunc // stops detection and notifications

	ready    atomic.Bool
	wg       sync.WaitGroup
	shutOnce sync.Once
	shutErr  error
}

// Addrs are the addresses the listeners are bound to (useful with port 0).
type Addrs struct {
	HTTP, GRPC, OTLPHTTP string
}

// New opens the store and builds every component; nothing listens yet.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{cfg: cfg, logger: logger, registry: prometheus.NewRegistry()}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var err error
	if s.access, err = s.newAccess(); err != nil {
		s.access.close()
		return nil, err
	}

	store, err := s.openStores(ctx)
	if err != nil {
		s.access.close()
		return nil, err
	}
	s.store = store
	fail := func(err error) (*Server, error) {
		if s.kafka != nil {
			_ = s.kafka.Shutdown(context.Background())
		}
		_ = store.Close()
		s.access.close()
		return nil, err
	}
	if s.bus, err = s.openBus(ctx); err != nil {
		return fail(err)
	}
	pcfg := ingest.DefaultConfig()
	pcfg.Limits.MaxAge, pcfg.Limits.MaxFuture, pcfg.DedupWindow = cfg.Retention, cfg.MaxFuture, cfg.DedupWindow
	pcfg.Quotas = ingest.QuotaConfig{EventsPerSecond: cfg.TenantEventsPerSecond, Burst: cfg.TenantBurst, BytesPerDay: cfg.TenantBytesPerDay}
	if s.pipeline, err = ingest.NewPipeline(pcfg, s.bus, store, s.registry, logger); err != nil {
		return fail(err)
	}
	if cfg.RedisURL != "" {
		// One client for the cache and the tail.
		if s.redis, err = cache.DialRedis(cfg.RedisURL); err != nil {
			return fail(err)
		}
		s.rtail = redistail.New(s.redis, s.registry, logger)
		s.tail = s.rtail
	} else {
		s.tail = ingest.NewLocalTail(s.registry)
	}
	s.meter = usage.NewMeter(store, 30*time.Second, logger)
	s.pipeline.OnAccepted(s.meter.Ingest)
	wcfg := ingest.WriterConfig{BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval, Workers: cfg.Writers, Retries: 3}
	if s.kafka != nil {
		// Kafka delivers again what was stored but not committed.
		wcfg.DedupWindow = cfg.DedupWindow
	}
	if s.writer, err = ingest.NewWriter(wcfg, s.bus, store, store, store, s.tail, s.registry, logger); err != nil {
		return fail(err)
	}
	s.newIncidents(store)
	s.newNotifier()
	if err := s.newDetection(store); err != nil {
		return fail(err)
	}
	var notifyFn func(storage.Incident, string)
	if s.notifier != nil {
		notifyFn = s.notifier.Notify
	}
	lifecycle := incidents.New(s.incidents, s.updates, notifyFn, logger)
	s.receiver = receiver.New(receiver.Config{MaxBodyBytes: cfg.MaxBodyBytes, RetryAfter: time.Second}, s.pipeline, logger)
	if s.access.authn != nil {
		s.access.authn.UseAPIKeys(store, func(tenant, id, reason string) {
			e := storage.AuditEntry{Tenant: tenant, ID: storage.NewID(), TimeUnixNano: time.Now().UnixNano(), Actor: "apikey:" + id,
				Action: "auth.api_key", Target: id, Outcome: "failed", Detail: reason}
			if err := store.AppendAudit(context.Background(), []storage.AuditEntry{e}); err != nil {
				logger.Error("audit log write failed", "err", err)
			}
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
	svc := service.New(service.Config{MaxRange: cfg.MaxQueryRange}, service.Deps{
		Events: reads, Metrics: reads, PromQL: s.promql, DeadLetters: store, APIKeys: store, Audit: store,
		Incidents: s.incidents, Rules: store, Detection: s.detect, Lifecycle: lifecycle, Updates: s.updates,
		Usage: s.meter, Pipeline: s.pipeline, Tail: s.tail,
		OnRevoke: func(id string) {
			if s.access.authn != nil {
				s.access.authn.ForgetAPIKey(id)
			}
		},
	}, logger)
	res := &resolvers.Resolver{Service: svc, Authenticated: s.access.authn != nil}
	s.handler = s.routes(newGraphQL(cfg, res, s.access.authn, s.meter, s.registry, logger))
	return s, nil
}

// Handler is the main HTTP handler (what :8080 serves).
func (s *Server) Handler() http.Handler { return s.handler }

// Store is the embedded store, for tools and tests that read it directly.
func (s *Server) Store() *duckdb.Store { return s.embedded }

// Pipeline is the ingest pipeline, for in-process importers.
func (s *Server) Pipeline() *ingest.Pipeline { return s.pipeline }

// Addrs returns the bound addresses once Start has returned.
func (s *Server) Addrs() Addrs { return s.addrs }

// Start starts the writers, binds every configured listener and serves; it
// returns once the server accepts data. Listeners with an empty address
// are not started (`inquest import` runs with none).
func (s *Server) Start(ctx context.Context) error {
	if s.rtail != nil {
		if err := s.rtail.Start(ctx); err != nil {
			return err
		}
	}
	if s.urelay != nil {
		if err := s.urelay.Start(ctx); err != nil {
			return err
		}
	}
	if s.runsWriter() {
		if err := s.writer.Start(ctx); err != nil {
			return err
		}
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopBg = stop
	if s.detect != nil {
		s.detect.Start(bg)
	}
	if s.notifier != nil {
		s.notifier.Start(bg)
	}
	if err := s.meter.Start(ctx); err != nil {
		return err
	}
	serve := func(name, addr string, h http.Handler) (*http.Server, string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, "", fmt.Errorf("%s listen on %s: %w", name, addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
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
			return errors.Join(err, s.Shutdown(context.Background()))
		}
	}
	if s.cfg.OTLPHTTPAddr != "" && s.runsGateway() {
		mux := http.NewServeMux()
		s.receiver.RegisterOTLP(mux)
		if s.otlpSrv, s.addrs.OTLPHTTP, err = serve("otlp-http", s.cfg.OTLPHTTPAddr, sameOrigin(s.cfg.AllowedOrigins, s.access.http(mux))); err != nil {
			return errors.Join(err, s.Shutdown(context.Background()))
		}
	}
	if s.cfg.GRPCAddr != "" && s.runsGateway() {
		ln, err := net.Listen("tcp", s.cfg.GRPCAddr)
		if err != nil {
			return errors.Join(fmt.Errorf("grpc listen on %s: %w", s.cfg.GRPCAddr, err), s.Shutdown(context.Background()))
		}
		s.grpcSrv = grpc.NewServer(grpc.MaxRecvMsgSize(int(s.cfg.MaxBodyBytes)), grpc.ChainUnaryInterceptor(s.access.grpc()))
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
	s.ready.Store(true)
	if s.addrs != (Addrs{}) {
		s.logger.Info("inquest is ready", "http", s.addrs.HTTP, "otlp_grpc", s.addrs.GRPC, "otlp_http", s.addrs.OTLPHTTP,
			"data_dir", s.cfg.DataDir)
	}
	if s.cfg.Demo {
		if s.addrs.GRPC == "" || s.addrs.HTTP == "" {
			return errors.Join(errors.New("demo needs the OTLP/gRPC and HTTP listeners"), s.Shutdown(context.Background()))
		}
		dcfg := demo.Config{OTLPEndpoint: s.addrs.GRPC, EventsURL: "http://" + s.addrs.HTTP + "/v1/events",
			Rate: s.cfg.DemoRate, FaultAfter: s.cfg.DemoFaultAfter}
		if s.access.authn != nil {
			// The demo is a client like any other: it gets a token for the
			// default tenant from the server's own key.
			tok, err := s.access.authn.Mint(auth.Principal{Subject: "inquest-demo", Tenant: auth.DefaultTenant, Roles: []string{"ingest"}},
				365*24*time.Hour, s.cfg.AuthJWTIssuer, s.cfg.AuthJWTAudience)
			if err != nil {
				return errors.Join(err, s.Shutdown(context.Background()))
			}
			dcfg.Authorization = "Bearer " + tok
		}
		s.demo, err = demo.New(dcfg, s.logger)
		if err != nil {
			return errors.Join(err, s.Shutdown(context.Background()))
		}
		if err := s.demo.Start(ctx); err != nil {
			return errors.Join(err, s.Shutdown(context.Background()))
		}
		s.logger.Info("demo traffic started", "rate_per_s", s.cfg.DemoRate, "bad_deploy_after", s.cfg.DemoFaultAfter)
	}
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
		for _, srv := range []*http.Server{s.httpSrv, s.otlpSrv} {
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
		if s.runsWriter() {
			errs = append(errs, s.writer.Shutdown(ctx))
		} else {
			errs = append(errs, s.bus.Close())
		}
		if s.kafka != nil {
			errs = append(errs, s.kafka.Shutdown(ctx))
		}
		if s.stopBg != nil {
			s.stopBg()
		}
		if s.notifier != nil {
			s.notifier.Wait()
		}
		errs = append(errs, s.meter.Shutdown(ctx))
		errs = append(errs, s.store.Close())
		if s.urelay != nil {
			errs = append(errs, s.urelay.Shutdown(ctx))
		}
		if s.rtail != nil {
			errs = append(errs, s.rtail.Shutdown(ctx))
		}
		if s.redis != nil {
			errs = append(errs, s.redis.Close())
		}
		s.access.close()
		s.shutErr = errors.Join(errs...)
	})
	return s.shutErr
}

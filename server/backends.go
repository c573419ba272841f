package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/agents/investigate"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/ingest/kafkabus"
	"github.com/inquest/inquest/llm"
	"github.com/inquest/inquest/notify"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/clickhouse"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/lock"
	"github.com/inquest/inquest/storage/pubsub"
	"github.com/inquest/inquest/storage/redisstore"
	"github.com/inquest/inquest/storage/updates"
	"github.com/inquest/inquest/storage/victoriametrics"
)

// namedPinger is a backend the readiness check asks.
type namedPinger struct {
	name string
	storage.Pinger
}

// openStores opens the embedded store and, as configured, the scaled
// backends that take over a part of it: ClickHouse the events, spans and
// logs; VictoriaMetrics the metrics. Everything else stays embedded.
func (s *Server) openStores(ctx context.Context) (*storage.Parts, error) {
	cfg := s.cfg
	embedded, err := duckdb.Open(ctx, duckdb.Config{
		Path: filepath.Join(cfg.DataDir, "inquest.duckdb"), Threads: cfg.DuckDBThreads, MemoryLimit: duckdbMemory(cfg),
		CheckpointThreshold: cfg.DuckDBCheckpoint,
	}, s.logger)
	if err != nil {
		return nil, err
	}
	s.embedded = embedded
	parts := &storage.Parts{EventStore: embedded, MetricStore: embedded, DeadLetterStore: embedded, APIKeyStore: embedded,
		UsageStore: embedded, AuditStore: embedded, IncidentStore: embedded, RuleStore: embedded,
		InvestigationStore: embedded, ProposalStore: embedded, Closers: []io.Closer{embedded}}
	s.pingers = []namedPinger{{"duckdb", embedded}}
	s.edges = embedded
	if cfg.ClickHouseDSN != "" {
		ch, err := clickhouse.Open(ctx, clickhouse.Config{DSN: cfg.ClickHouseDSN, Cluster: cfg.ClickHouseCluster, QueryMemory: cfg.ClickHouseQueryMemory,
			Replicated: cfg.ClickHouseReplicated, TTL: cfg.ClickHouseTTL}, s.logger)
		if err != nil {
			return nil, fmt.Errorf("%w (%v)", err, parts.Close())
		}
		parts.EventStore = ch
		s.edges = ch
		parts.Closers = append(parts.Closers, ch)
		if s.runsWriter() {
			// Writers age the shared events out; gateways leave it to them.
			s.pruners = append(s.pruners, ch)
		}
		s.pingers = append(s.pingers, namedPinger{"clickhouse", ch})
	}
	if cfg.VictoriaMetricsURL != "" {
		vm, err := victoriametrics.Open(ctx, victoriametrics.Config{URL: cfg.VictoriaMetricsURL}, s.logger)
		if err != nil {
			return nil, fmt.Errorf("%w (%v)", err, parts.Close())
		}
		parts.MetricStore = vm
		parts.Closers = append(parts.Closers, vm)
		s.pingers = append(s.pingers, namedPinger{"victoriametrics", vm})
		s.promql = vm
	}
	return parts, nil
}

// openBus is the in-process queue, or the Kafka topic between gateways and
// writers.
func (s *Server) openBus(ctx context.Context) (ingest.Bus, error) {
	cfg := s.cfg
	if len(cfg.KafkaBrokers) == 0 {
		bus := ingest.NewLocalBus(cfg.QueueRecords)
		bus.SetByteLimit(cfg.QueueBytes)
		if cfg.IngestWAL && s.runsWriter() {
			wal, err := ingest.OpenWAL(ingest.WALConfig{Dir: filepath.Join(cfg.DataDir, "wal"), Sync: cfg.IngestWALFsync}, s.registry, s.logger)
			if err != nil {
				return nil, err
			}
			s.wal = wal
			bus.SetLog(wal)
		}
		return bus, nil
	}
	kb, err := kafkabus.New(ctx, kafkabus.Config{Brokers: cfg.KafkaBrokers, Topic: cfg.KafkaTopic, Group: cfg.KafkaGroup,
		Compression: cfg.KafkaCompression, Partitions: int32(cfg.KafkaPartitions)}, s.registry, s.logger)
	if err != nil {
		return nil, err
	}
	s.kafka = kb
	return kb, nil
}

// ping asks every backend, for /readyz; it names the first that fails.
func (s *Server) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, p := range s.pingers {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("%s unavailable", p.name)
		}
	}
	return nil
}

// runsWriter and runsGateway tell the process's role.
func (s *Server) runsWriter() bool  { return s.cfg.Role != "gateway" }
func (s *Server) runsGateway() bool { return s.cfg.Role != "writer" }

// detectionStore is what the detector reads and writes: anomalies and
// incidents where every replica shares them, rules and the service graph
// from the stores.
type detectionStore struct {
	storage.IncidentStore
	storage.RuleStore
	storage.EventStore
}

// newIncidents decides where anomalies and incidents live and how their
// changes reach subscribers: the embedded store and this process, or, with
// Redis, one store and one stream for every replica, so that an incident
// opened by a writer can be acknowledged through any gateway and is
// streamed by all of them.
func (s *Server) newIncidents(store storage.Store) {
	s.updates = updates.NewBroker(s.registry)
	s.incidents = store
	if s.redis == nil {
		return
	}
	s.incidents = redisstore.NewIncidents(s.redis, "inquest:")
	errs := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "inquest_updates_redis_errors_total", Help: "Anomaly and incident updates not published to or not read from Redis.",
	})
	s.registry.MustRegister(errs)
	s.urelay = pubsub.New(s.redis, "inquest:updates", s.updates.Deliver, errs, s.logger)
	s.updates.RelayThrough(s.urelay.Publish)
}

// newInvestigations builds the investigation runner, over the embedded
// store or, with Redis, one store every replica shares (so that an
// investigation started on a gateway is read on any other). Progress goes
// out through the updates broker, across replicas too.
func (s *Server) newInvestigations(store storage.Store) error {
	s.investigations = store
	if s.redis != nil {
		s.investigations = redisstore.NewInvestigations(s.redis, "inquest:")
	}
	icfg := investigate.DefaultConfig()
	icfg.Workers = s.cfg.InvestigationWorkers
	icfg.Settle = s.cfg.InvestigationSettle
	icfg.Shared = s.redis != nil
	key, err := s.cfg.LLMKey()
	if err != nil {
		return err
	}
	model, err := llm.New(llm.Config{Provider: s.cfg.LLMProvider, Model: s.cfg.LLMModel, BaseURL: s.cfg.LLMBaseURL, APIKey: key})
	if err != nil {
		return err
	}
	s.model = model
	s.investigator = investigate.New(icfg, investigate.Deps{Source: store, Store: s.investigations, Incidents: s.incidents, Model: model,
		Publish: func(p domain.InvestigationProgress) { s.updates.Publish(updates.Update{Progress: &p}) }}, s.registry, s.logger)
	return nil
}

// newDetection builds the detector where records are stored (roles all
// and writer) and the grouping of its anomalies into incidents.
func (s *Server) newDetection(store storage.Store) error {
	cfg := s.cfg
	if !cfg.Detection || !s.runsWriter() {
		return nil
	}
	dcfg := detection.DefaultEngineConfig()
	dcfg.Resolution, dcfg.MaxSeries = cfg.DetectionResolution, cfg.DetectionMaxSeries
	dcfg.Detector.AdaptAfter = cfg.DetectionAdaptAfter
	// A step closes once the writers have flushed it.
	dcfg.Grace = cfg.FlushInterval + 2*time.Second
	dcfg.Broker = s.updates
	dstore := detectionStore{s.incidents, store, store}
	engine, err := detection.NewEngine(dcfg, dstore, s.registry, s.logger)
	if err != nil {
		return err
	}
	gcfg := incidents.DefaultGroupConfig()
	gcfg.ResolveAfter = cfg.DetectionResolveAfter
	s.grouper = incidents.NewGrouper(gcfg, dstore, s.updates, s.registry, s.logger)
	engine.SetSink(s.grouper)
	s.detect = engine
	s.writer.OnStored(engine.Ingest)
	if s.kafka != nil {
		// Each writer stores only its share: one of them at a time reads
		// the steps back from the store and detects.
		var coord lock.Coordinator = lock.NewLocal()
		if s.redis != nil {
			coord = lock.NewRedis(s.redis, "inquest:lock:")
		} else {
			s.logger.Warn("detection with Kafka and no --redis-url: every writer detects on its own; give the writers a Redis to elect one")
		}
		host, _ := os.Hostname()
		engine.EnablePolling(detection.PollConfig{Events: store, Coordinator: coord, Holder: host + "/" + domain.NewID()})
	}
	return nil
}

// newNotifier sends incident changes to the configured webhooks, from any
// process that makes them (the detector opens incidents, the lifecycle
// changes them).
func (s *Server) newNotifier() {
	cfg := s.cfg
	var notifiers []notify.Notifier
	client := &http.Client{Timeout: 10 * time.Second}
	if cfg.NotifyWebhookURL != "" {
		notifiers = append(notifiers, &notify.Webhook{URL: cfg.NotifyWebhookURL, Client: client})
	}
	if cfg.NotifySlackWebhookURL != "" {
		notifiers = append(notifiers, &notify.Slack{URL: cfg.NotifySlackWebhookURL, Client: client})
	}
	if len(notifiers) > 0 {
		s.notifier = notify.NewDispatcher(notify.Config{PublicURL: cfg.PublicURL}, notifiers, s.registry, s.logger)
	}
}

// duckdbMemory is DuckDB's memory limit: as set, or half of --memory-limit.
func duckdbMemory(cfg config.Config) string {
	if cfg.DuckDBMemoryLimit != "" || cfg.MemoryLimit <= 0 {
		return cfg.DuckDBMemoryLimit
	}
	return fmt.Sprintf("%dMB", max(cfg.MemoryLimit/2>>20, 64))
}

// Package kafkabus carries validated records from gateways to writers
// through a Kafka (or Redpanda) topic, for deployments where they run as
// separate replicas. Gateways produce and answer the client only once the
// brokers have the records; writers consume in a consumer group and commit
// an offset only after the store acknowledged every record before it
// (at-least-once; the content-hash event id makes a redelivered record
// merge with its first copy in ClickHouse).
package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/inquest/inquest/ingest"
)

// Config configures the bus.
type Config struct {
	Brokers []string
	// Topic, default raw-telemetry.
	Topic string
	// Group is the writers' consumer group, default inquest-writers.
	Group string
	// Compression: zstd (default), lz4, snappy, gzip or none.
	Compression string
	// Partitions and ReplicationFactor are used when the topic does not
	// exist yet (default 12 and the brokers' default).
	Partitions        int32
	ReplicationFactor int16
	// ProduceTimeout bounds how long a gateway waits for the brokers before
	// it tells the client to retry (default 10 s).
	ProduceTimeout time.Duration
	// CommitInterval is how often acknowledged offsets are committed
	// (default 1 s).
	CommitInterval time.Duration
	// RevokeWait is how long a writer losing partitions in a rebalance
	// waits for their records in flight to be stored, so that the next
	// owner does not store them again (default 10 s).
	RevokeWait time.Duration
}

func (c *Config) defaults() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no brokers")
	}
	if c.Topic == "" {
		c.Topic = "raw-telemetry"
	}
	if c.Group == "" {
		c.Group = "inquest-writers"
	}
	if c.Partitions <= 0 {
		c.Partitions = 12
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.ProduceTimeout <= 0 {
		c.ProduceTimeout = 10 * time.Second
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = time.Second
	}
	if c.RevokeWait <= 0 {
		c.RevokeWait = 10 * time.Second
	}
	return nil
}

func codec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "zstd":
		return kgo.ZstdCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "none":
		return kgo.NoCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("kafka compression %q: want zstd, lz4, snappy, gzip or none", name)
}

// Bus implements ingest.Bus on Kafka. A gateway uses Publish, a writer
// Consume; a process with both roles uses both.
type Bus struct {
	cfg    Config
	logger *slog.Logger
	prod   *kgo.Client

	consOnce sync.Once
	cons     *kgo.Client
	consErr  error
	ch       chan *ingest.Message
	stop     context.CancelFunc
	polling  sync.WaitGroup
	track    *tracker

	mu         sync.Mutex // guards stop
	closed     atomic.Bool
	closeOnce  sync.Once
	badRecords prometheus.Counter
}

var _ ingest.Bus = (*Bus)(nil)

// New connects the producer and makes sure the topic exists. The consumer
// joins the group on the first Consume.
func New(ctx context.Context, cfg Config, reg prometheus.Registerer, logger *slog.Logger) (*Bus, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	comp, err := codec(cfg.Compression)
	if err != nil {
		return nil, err
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.DefaultProduceTopic(cfg.Topic),
		kgo.ProducerBatchCompression(comp), kgo.RecordDeliveryTimeout(cfg.ProduceTimeout),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	b := &Bus{cfg: cfg, logger: logger, prod: prod, ch: make(chan *ingest.Message, 64)}
	b.track = newTracker()
	if err := b.ensureTopic(ctx); err != nil {
		prod.Close()
		return nil, err
	}
	b.badRecords = prometheus.NewCounter(prometheus.CounterOpts{Name: "inquest_kafka_bad_records_total",
		Help: "Records on the topic that could not be decoded; skipped and logged."})
	reg.MustRegister(b.badRecords, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "inquest_kafka_consumer_lag_records",
		Help: "Records on the writers' partitions not yet committed (high watermark minus committed offset)."}, func() float64 {
		return float64(b.track.lag())
	}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "inquest_kafka_produce_buffered_records",
		Help: "Records a gateway is sending to the brokers."}, func() float64 {
		return float64(b.prod.BufferedProduceRecords())
	}))
	return b, nil
}

// ensureTopic creates the topic unless it exists.
func (b *Bus) ensureTopic(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = b.cfg.Topic, b.cfg.Partitions, b.cfg.ReplicationFactor
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, b.prod)
	if err != nil {
		return fmt.Errorf("kafka at %v: %w", b.cfg.Brokers, err)
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("kafka: create topic %s: %w", b.cfg.Topic, err)
		}
	}
	return nil
}

// Publish produces the message and returns once the brokers have it. A
// broker that does not answer in time is ingest.ErrFull: the client is told
// to retry (503), and nothing it sent counts as accepted.
func (b *Bus) Publish(ctx context.Context, m *ingest.Message) error {
	if b.closed.Load() {
		return ingest.ErrClosed
	}
	recs, err := encode(b.cfg.Topic, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ProduceTimeout)
	defer cancel()
	// Produce asynchronously and wait for all records or the timeout:
	// records already sent to a broker that went away are not failed by
	// the context, and the client must not wait for them forever. A record
	// that is delivered after the client was told to retry is stored twice
	// on the bus and merged by its content hash.
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	wg.Add(len(recs))
	for _, r := range recs {
		b.prod.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			wg.Done()
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		first = ctx.Err()
	}
	mu.Lock()
	err = first
	mu.Unlock()
	if err != nil {
		b.logger.Warn("kafka produce failed", "records", m.Len(), "err", err)
		return fmt.Errorf("%w: kafka: %v", ingest.ErrFull, err)
	}
	return nil
}

// Depth is the number of records produced but not yet confirmed plus those
// consumed but not yet stored.
func (b *Bus) Depth() int {
	return int(b.prod.BufferedProduceRecords()) + b.track.inFlight()
}

// Close stops publishing and polling; Consume returns once what was
// polled has been handed over. Shutdown then commits what was stored.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed.Store(true)
		if b.stop != nil {
			b.stop()
		}
		b.mu.Unlock()
	})
	return nil
}

// Shutdown commits every acknowledged offset, leaves the group and closes
// the connections. Call it after the writers have flushed.
func (b *Bus) Shutdown(ctx context.Context) error {
	_ = b.Close()
	b.polling.Wait()
	var err error
	if b.cons != nil {
		err = b.commit(ctx, nil)
		b.cons.Close()
	}
	b.prod.Close()
	return err
}

// Consume joins the group on the first call and delivers each record as a
// message; several writer workers may call it at once.
func (b *Bus) Consume(ctx context.Context, handle func(*ingest.Message)) error {
	b.consOnce.Do(func() { b.consErr = b.startConsumer() })
	if b.consErr != nil {
		return b.consErr
	}
	for {
		select {
		case m, ok := <-b.ch:
			if !ok {
				return nil
			}
			handle(m)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

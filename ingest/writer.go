package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest/jsonfmt"
	"github.com/inquest/inquest/internal/loop"
	"github.com/inquest/inquest/storage"
)

// WriterConfig configures the batching writers.
type WriterConfig struct {
	// BatchSize flushes a batch once it holds this many records.
	BatchSize int
	// FlushInterval flushes a non-empty batch at least this often.
	FlushInterval time.Duration
	// Workers write in parallel, each with its own batch.
	Workers int
	// Retries of a failed store write before the batch is dead-lettered.
	Retries int
	// DedupWindow, when set, drops records this writer stored within the
	// window. With the Kafka bus, a record is delivered again after a
	// failed commit or a broker restart; the gateway's dedup cannot see
	// those. Zero (the in-process bus) turns it off.
	DedupWindow time.Duration
}

// DefaultWriterConfig is 10,000 records or 1 s, as DESIGN.md asks.
func DefaultWriterConfig() WriterConfig {
	return WriterConfig{BatchSize: 10_000, FlushInterval: time.Second, Workers: 2, Retries: 3}
}

// Validate checks the configuration.
func (c WriterConfig) Validate() error {
	if c.BatchSize <= 0 || c.FlushInterval <= 0 || c.Workers <= 0 || c.Retries < 0 {
		return fmt.Errorf("writer: batch size, flush interval and workers must be positive")
	}
	return nil
}

// Writer drains the bus into the stores in batches and hands stored events
// to the live tail.
type Writer struct {
	cfg     WriterConfig
	bus     Bus
	events  storage.EventStore
	metrics storage.MetricStore
	dlq     storage.DeadLetterStore
	tail    Tail
	logger  *slog.Logger

	wg       sync.WaitGroup
	cancel   context.CancelFunc
	stopOnce sync.Once

	dedup    *Dedup
	stored   func([]domain.Event, []domain.Sample)
	rows     *prometheus.CounterVec
	flushes  prometheus.Histogram
	lost     prometheus.Counter
	isolated prometheus.Counter
}

// NewWriter builds a writer; Start runs it.
func NewWriter(cfg WriterConfig, bus Bus, events storage.EventStore, metrics storage.MetricStore, dlq storage.DeadLetterStore,
	tail Tail, reg prometheus.Registerer, logger *slog.Logger) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &Writer{cfg: cfg, bus: bus, events: events, metrics: metrics, dlq: dlq, tail: tail, logger: logger,

		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inquest_writer_rows_total", Help: "Rows written to the store, by table.",
		}, []string{"table"}),
		flushes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "inquest_writer_flush_seconds", Help: "Time to write one batch to the store.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inquest_writer_lost_records_total", Help: "Records that neither the store nor the dead-letter queue would take.",
		}),
		isolated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inquest_writer_refused_records_total", Help: "Records the store refused, found by halving their batch and dead-lettered.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{w.rows, w.flushes, w.lost, w.isolated} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register writer metrics: %w", err)
			}
		}
	}
	if cfg.DedupWindow > 0 {
		w.dedup = NewDedup(cfg.DedupWindow, 2_000_000)
	}
	return w, nil
}

// Start runs the workers until Shutdown.
func (w *Writer) Start(ctx context.Context) error {
	ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for range w.cfg.Workers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.run(ctx)
		}()
	}
	return nil
}

// OnStored sets a function told of every batch once stored (the detectors
// watch it); it must not keep the slices or block. Set it before Start.
func (w *Writer) OnStored(fn func([]domain.Event, []domain.Sample)) { w.stored = fn }

// Shutdown closes the bus and waits until everything queued is written, or
// ctx ends. It is idempotent.
func (w *Writer) Shutdown(ctx context.Context) error {
	w.stopOnce.Do(func() { _ = w.bus.Close() })
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if w.cancel != nil {
			w.cancel()
		}
		return fmt.Errorf("writer shutdown: %w", ctx.Err())
	}
}

type pending struct {
	events  []domain.Event
	samples []domain.Sample
	msgs    []*Message
}

func (p *pending) len() int { return len(p.events) + len(p.samples) }

// run is one worker: a consumer goroutine feeds messages in, the worker
// flushes on size or time.
func (w *Writer) run(ctx context.Context) {
	in := make(chan *Message)
	go func() {
		defer close(in)
		if err := w.bus.Consume(ctx, func(m *Message) {
			select {
			case in <- m:
			case <-ctx.Done():
			}
		}); err != nil && ctx.Err() == nil {
			w.logger.Error("bus consume failed", "err", err)
		}
	}()
	ticker := time.NewTicker(w.cfg.FlushInterval)
	defer ticker.Stop()
	var p pending
	for {
		select {
		case m, ok := <-in:
			if !ok {
				w.flush(context.WithoutCancel(ctx), &p)
				return
			}
			w.add(&p, m)
			p.msgs = append(p.msgs, m)
			if p.len() >= w.cfg.BatchSize {
				w.flush(ctx, &p)
			}
		case <-ticker.C:
			w.flush(ctx, &p)
		}
	}
}

// add takes a message's records into the batch, less those stored already
// when the writer dedups.
func (w *Writer) add(p *pending, m *Message) {
	if w.dedup == nil {
		p.events = append(p.events, m.Events...)
		p.samples = append(p.samples, m.Samples...)
		return
	}
	now := time.Now()
	for i := range m.Events {
		if !w.dedup.Seen(m.Events[i].ID, now) {
			p.events = append(p.events, m.Events[i])
		}
	}
	for i := range m.Samples {
		if !w.dedup.Seen(m.Samples[i].ContentHash(), now) {
			p.samples = append(p.samples, m.Samples[i])
		}
	}
}

func (w *Writer) flush(ctx context.Context, p *pending) {
	if p.len() == 0 {
		for _, m := range p.msgs {
			m.Ack()
		}
		p.msgs = p.msgs[:0]
		return
	}
	start := time.Now()
	if len(p.events) > 0 {
		stored := write(w, ctx, p.events, func(es []domain.Event) error { return w.events.WriteEvents(ctx, es) },
			func(e *domain.Event) string { return e.Tenant }, func(err error, bad []domain.Event) { w.deadLetter(ctx, err, bad, nil) })
		if len(stored) > 0 {
			w.rows.WithLabelValues("events").Add(float64(len(stored)))
			w.tail.Publish(stored)
			if w.stored != nil {
				w.stored(stored, nil)
			}
		}
	}
	if len(p.samples) > 0 {
		stored := write(w, ctx, p.samples, func(ss []domain.Sample) error { return w.metrics.WriteSamples(ctx, ss) },
			func(s *domain.Sample) string { return s.Tenant }, func(err error, bad []domain.Sample) { w.deadLetter(ctx, err, nil, bad) })
		if len(stored) > 0 {
			w.rows.WithLabelValues("metric_samples").Add(float64(len(stored)))
			if w.stored != nil {
				w.stored(nil, stored)
			}
		}
	}
	w.flushes.Observe(time.Since(start).Seconds())
	for _, m := range p.msgs {
		m.Ack()
	}
	// Fresh slices: the tail and the store may still hold the old ones.
	*p = pending{}
}

// write stores a batch, retried with backoff; a batch the store keeps
// refusing is split by tenant and then halved (isolate) so that only the
// records at fault reach the dead-letter queue, each its own tenant's. It
// returns what was stored.
func write[T any](w *Writer, ctx context.Context, items []T, store func([]T) error, tenant func(*T) string, refuse func(error, []T)) []T {
	err := w.retry(ctx, func() error { return store(items) })
	if err == nil {
		return items
	}
	budget := isolateBudget
	var stored []T
	for _, part := range byTenant(items, tenant) {
		ok, bad, cause := isolate(part, store, &budget)
		stored = append(stored, ok...)
		if len(bad) > 0 {
			if cause == nil {
				cause = err
			}
			w.isolated.Add(float64(len(bad)))
			refuse(cause, bad)
		}
	}
	return stored
}

func (w *Writer) retry(ctx context.Context, fn func() error) error {
	return loop.Retry(ctx, loop.Backoff{Tries: w.cfg.Retries + 1, First: 100 * time.Millisecond, Factor: 2}, fn,
		func(attempt int, err error) { w.logger.Warn("store write failed", "err", err, "attempt", attempt) })
}

// deadLetter keeps a batch the store refused, so that nothing accepted is
// silently lost.
func (w *Writer) deadLetter(ctx context.Context, cause error, events []domain.Event, samples []domain.Sample) {
	now := time.Now().UnixNano()
	var dls []domain.DeadLetter
	reason := "store write failed: " + cause.Error()
	for i := range events {
		dls = append(dls, domain.DeadLetter{Tenant: events[i].Tenant, ID: domain.NewID(), TimeUnixNano: now, Source: "writer",
			Format: string(FormatJSONEvents), Reason: reason, Payload: jsonfmt.Encode(&events[i])})
	}
	for i := range samples {
		dls = append(dls, domain.DeadLetter{Tenant: samples[i].Tenant, ID: domain.NewID(), TimeUnixNano: now, Source: "writer",
			Format: string(FormatJSONSamples), Reason: reason, Payload: jsonfmt.EncodeSample(&samples[i])})
	}
	if err := w.dlq.PutDeadLetters(context.WithoutCancel(ctx), dls); err != nil {
		w.lost.Add(float64(len(dls)))
		w.logger.Error("records lost: store and dead-letter queue both refused them", "records", len(dls), "err", err)
	}
}

// Package ingest is the path from a decoded payload to the store: validate,
// dedup, queue on the bus, batch, write, and keep what was refused in the
// dead-letter queue. Receivers (ingest/receiver) and `inquest import` feed
// it; decoders live in the sub-packages.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest/jsonfmt"
	"github.com/inquest/inquest/storage"
)

// Config configures the pipeline.
type Config struct {
	Limits          Limits
	DedupWindow     time.Duration
	DedupMaxEntries int
	// MaxDeadLetterPayload caps the raw bytes kept for one refused payload.
	MaxDeadLetterPayload int
	// MaxDeadLettersPerRequest caps how many records one request may add
	// to the dead-letter queue; the rest are only counted.
	MaxDeadLettersPerRequest int
	// DeadLetterBytesPerHour caps what one tenant's dead letters may add
	// per hour (they count against its daily byte quota too); 0 is no cap.
	DeadLetterBytesPerHour int64
	// Quotas limit each tenant's rate and daily bytes; zero is unlimited.
	// Imports and replays, which an operator runs, are not limited.
	Quotas QuotaConfig
	// Decode is how the receivers and imports that feed the pipeline
	// decode payloads (which resource attributes label metric series).
	Decode DecodeOptions
}

// DefaultConfig is what `inquest serve` uses unless told otherwise.
func DefaultConfig() Config {
	return Config{
		Limits:                   Limits{MaxFuture: time.Hour, MaxAge: 7 * 24 * time.Hour, MaxBodyBytes: 64 << 10},
		DedupWindow:              10 * time.Minute,
		DedupMaxEntries:          2_000_000,
		MaxDeadLetterPayload:     1 << 20,
		MaxDeadLettersPerRequest: 1000,
		DeadLetterBytesPerHour:   64 << 20,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Limits.MaxFuture < 0 || c.Limits.MaxAge < 0 {
		return fmt.Errorf("ingest limits must not be negative")
	}
	if c.DedupWindow > 0 && c.DedupMaxEntries <= 0 {
		return fmt.Errorf("dedup needs a positive entry limit")
	}
	return nil
}

// Input is one decoded payload offered to the pipeline.
type Input struct {
	Tenant     string
	Source     string // receiver: otlp-grpc, otlp-http, remote-write, events, import, replay
	Format     Format
	Batch      *Batch
	Historical Historical
	// NoDeadLetter reports refusals only to the caller (replays).
	NoDeadLetter bool
}

// Result says what became of the records of one payload.
type Result struct {
	Accepted   int
	Rejected   int
	Duplicates int
	// Merged counts source records the decoder folded into others (Zipkin
	// span fragments reported separately by client and server).
	Merged int
	// Malformed counts the lines of a line-delimited file that did not
	// decode: they are skipped, and the lines around them imported.
	Malformed int
	// FirstNano and LastNano bound the timestamps of the accepted records.
	FirstNano, LastNano int64
	// Errors holds the first few distinct reasons for refusals.
	Errors []string
}

// ErrorSummary joins the reasons into one message for a client.
func (r *Result) ErrorSummary() string {
	msg := fmt.Sprintf("%d record(s) rejected", r.Rejected)
	for i, e := range r.Errors {
		if i == 0 {
			msg += ": "
		} else {
			msg += "; "
		}
		msg += e
	}
	return msg
}

// RefuseUnread counts the part of a payload that a decoder could not read
// (a body cut off mid-record) as one more refused record.
func (r *Result) RefuseUnread(reason string) { r.reject(reason) }

const maxReasons = 5

func (r *Result) reject(reason string) {
	r.Rejected++
	r.addReason(reason)
}

func (r *Result) addReason(reason string) {
	for _, e := range r.Errors {
		if e == reason {
			return
		}
	}
	if len(r.Errors) < maxReasons {
		r.Errors = append(r.Errors, reason)
	}
}

// Merge adds another result's counts and reasons to r.
func (r *Result) Merge(o *Result) {
	r.Accepted += o.Accepted
	r.Rejected += o.Rejected
	r.Duplicates += o.Duplicates
	r.Merged += o.Merged
	r.Malformed += o.Malformed
	r.span(o.FirstNano)
	r.span(o.LastNano)
	for _, e := range o.Errors {
		r.addReason(e)
	}
}

// span widens the time range by ts (0 is no time).
func (r *Result) span(ts int64) {
	if ts == 0 {
		return
	}
	if r.FirstNano == 0 || ts < r.FirstNano {
		r.FirstNano = ts
	}
	if ts > r.LastNano {
		r.LastNano = ts
	}
}

// Pipeline validates and queues records; one per process, shared by every
// receiver.
type Pipeline struct {
	cfg    Config
	bus    Bus
	dlq    storage.DeadLetterStore
	dedup  *Dedup
	quotas *Quotas
	logger *slog.Logger
	now    func() time.Time

	records     *prometheus.CounterVec
	payloads    *prometheus.CounterVec
	stale       prometheus.Counter
	invalidUTF8 prometheus.Counter
	deadDropped *prometheus.CounterVec
	dead        deadBudget

	onAccepted func(tenant string, records int, bytes int64)
	pressed    func() bool
	full       func() bool
}

// ErrOverMemory is ErrFull for a process near its memory limit: clients
// retry later, as with a full queue.
var ErrOverMemory = fmt.Errorf("%w: the server is near its memory limit (--memory-limit)", ErrFull)

// PushBackWhen makes Accept refuse with ErrOverMemory while pressed
// reports true (the process near its memory limit) to the tenants holding
// more than their share of the queue, and to every tenant while full
// reports true (the process at its limit) or where the bus cannot tell
// shares (Kafka). Call it before the pipeline is used.
func (p *Pipeline) PushBackWhen(pressed, full func() bool) { p.pressed, p.full = pressed, full }

// sharer is a bus that knows what each tenant holds in it.
type sharer interface {
	// OverShare says whether tenant holds more than its share.
	OverShare(tenant string) bool
}

// overMemory says whether the tenant's payload is refused for memory.
func (p *Pipeline) overMemory(tenant string) bool {
	if p.pressed == nil || !p.pressed() {
		return false
	}
	sh, ok := p.bus.(sharer)
	return !ok || (p.full != nil && p.full()) || sh.OverShare(tenant)
}

// OnAccepted registers a function told of every accepted payload (usage
// metering). Call it before the pipeline is used.
func (p *Pipeline) OnAccepted(f func(tenant string, records int, bytes int64)) { p.onAccepted = f }

// NewPipeline wires a pipeline onto a bus and a dead-letter store.
func NewPipeline(cfg Config, bus Bus, dlq storage.DeadLetterStore, reg prometheus.Registerer, logger *slog.Logger) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Pipeline{
		cfg: cfg, bus: bus, dlq: dlq, logger: logger, now: time.Now,
		dedup:  NewDedup(cfg.DedupWindow, cfg.DedupMaxEntries),
		quotas: NewQuotas(cfg.Quotas, nil),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inquest_ingest_records_total", Help: "Records offered to ingest, by signal and outcome (accepted, rejected, duplicate, backpressure, rate_limited).",
		}, []string{"signal", "outcome"}),
		payloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inquest_ingest_payloads_total", Help: "Payloads received, by source and outcome (ok, partial, invalid, backpressure).",
		}, []string{"source", "outcome"}),
		stale: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inquest_ingest_stale_markers_total", Help: "Prometheus staleness markers received (stored; they end their series).",
		}),
		deadDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inquest_ingest_dead_letters_dropped_total", Help: "Dead letters not kept: over the tenant's hourly cap or daily byte quota.",
		}, []string{"reason"}),
		dead: deadBudget{perHour: cfg.DeadLetterBytesPerHour},
		invalidUTF8: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inquest_ingest_invalid_utf8_records_total", Help: "Records whose invalid UTF-8 was replaced by U+FFFD.",
		}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "inquest_ingest_queue_records", Help: "Records queued between the receivers and the writers.",
	}, func() float64 { return float64(bus.Depth()) })
	if reg != nil {
		for _, c := range []prometheus.Collector{p.records, p.payloads, p.stale, p.invalidUTF8, p.deadDropped, depth} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register ingest metrics: %w", err)
			}
		}
	}
	return p, nil
}

// Accept validates, dedups and queues a decoded payload. Invalid records go
// to the dead-letter queue and are reported in the result; valid records in
// the same payload are still accepted. ErrFull and *QuotaError mean nothing
// was accepted and the client should retry later.
func (p *Pipeline) Accept(ctx context.Context, in Input) (*Result, error) {
	if in.Tenant == "" {
		return nil, fmt.Errorf("accept: %w", domain.ErrNoTenant)
	}
	if p.overMemory(in.Tenant) {
		p.payloads.WithLabelValues(in.Source, "backpressure").Inc()
		return nil, ErrOverMemory
	}
	s := p.sortRecords(in, p.now())
	if in.Batch.InvalidUTF8 > 0 {
		p.invalidUTF8.Add(float64(in.Batch.InvalidUTF8))
	}
	if in.Batch.Stale > 0 {
		p.stale.Add(float64(in.Batch.Stale))
	}
	forget := func() {
		for _, h := range s.hashes {
			p.dedup.Forget(h)
		}
	}
	msg := s.msg
	if in.Source != "import" && in.Source != "replay" {
		if err := p.quotas.Admit(in.Tenant, msg.Len(), in.Batch.Bytes); err != nil {
			forget()
			p.records.WithLabelValues("all", "rate_limited").Add(float64(msg.Len()))
			p.payloads.WithLabelValues(in.Source, "rate_limited").Inc()
			return nil, err
		}
	}
	if msg.Len() > 0 {
		if err := p.bus.Publish(ctx, msg); err != nil {
			forget()
			p.records.WithLabelValues("events", "backpressure").Add(float64(len(msg.Events)))
			p.records.WithLabelValues("samples", "backpressure").Add(float64(len(msg.Samples)))
			p.payloads.WithLabelValues(in.Source, "backpressure").Inc()
			return nil, err
		}
	}
	res := s.res
	res.Accepted = msg.Len()
	res.Merged = in.Batch.Merged
	for i := range msg.Events {
		res.span(msg.Events[i].TimeUnixNano)
	}
	for i := range msg.Samples {
		res.span(msg.Samples[i].TimeUnixNano)
	}
	if p.onAccepted != nil && (res.Accepted > 0 || in.Batch.Bytes > 0) {
		p.onAccepted(in.Tenant, res.Accepted, in.Batch.Bytes)
	}
	p.records.WithLabelValues("events", "accepted").Add(float64(len(msg.Events)))
	p.records.WithLabelValues("samples", "accepted").Add(float64(len(msg.Samples)))
	p.records.WithLabelValues("all", "rejected").Add(float64(res.Rejected))
	p.records.WithLabelValues("all", "duplicate").Add(float64(res.Duplicates))
	if dead := p.keepDead(s.dead, p.now(), false); len(dead) > 0 {
		if err := p.dlq.PutDeadLetters(ctx, dead); err != nil {
			p.logger.Error("dead-letter write failed", "err", err, "records", len(dead))
		}
	}
	if res.Rejected > 0 {
		p.payloads.WithLabelValues(in.Source, "partial").Inc()
	} else {
		p.payloads.WithLabelValues(in.Source, "ok").Inc()
	}
	return res, nil
}

// sorted is a payload's records split into those to queue, duplicates,
// and refusals with their dead letters.
type sorted struct {
	msg    *Message
	hashes []uint64 // of the queued records, to forget if queueing fails
	dead   []domain.DeadLetter
	res    *Result
}

// sortRecords validates and dedups every record of a payload.
func (p *Pipeline) sortRecords(in Input, now time.Time) sorted {
	s := sorted{msg: &Message{Tenant: in.Tenant}, res: &Result{}}
	// Most payloads are kept whole: one allocation each, not a doubling.
	if n := len(in.Batch.Events); n > 0 {
		s.msg.Events = make([]domain.Event, 0, n)
	}
	if n := len(in.Batch.Samples); n > 0 {
		s.msg.Samples = make([]domain.Sample, 0, n)
	}
	s.hashes = make([]uint64, 0, len(in.Batch.Events)+len(in.Batch.Samples))
	refuse := func(payload []byte, format Format, reason string) {
		s.res.reject(reason)
		if !in.NoDeadLetter && len(s.dead) < p.cfg.MaxDeadLettersPerRequest {
			s.dead = append(s.dead, p.deadLetter(in.Tenant, in.Source, format, payload, reason, now))
		}
	}
	fresh := func(h uint64) bool {
		if p.dedup.Seen(h, now) {
			s.res.Duplicates++
			return false
		}
		s.hashes = append(s.hashes, h)
		return true
	}
	for i := range in.Batch.Events {
		e := &in.Batch.Events[i]
		e.Tenant = in.Tenant
		if fixEvent(e) {
			p.invalidUTF8.Inc()
		}
		if err := p.cfg.Limits.ValidateEvent(e, now, in.Historical); err != nil {
			refuse(jsonfmt.Encode(e), FormatJSONEvents, err.Error())
			continue
		}
		e.ID = e.ContentHash()
		e.IngestedNano = now.UnixNano()
		if fresh(e.ID) {
			s.msg.Events = append(s.msg.Events, *e)
			s.msg.Bytes += e.MemSize()
		}
	}
	for i := range in.Batch.Samples {
		m := &in.Batch.Samples[i]
		m.Tenant = in.Tenant
		if fixSample(m) {
			p.invalidUTF8.Inc()
		}
		if err := p.cfg.Limits.ValidateSample(m, now, in.Historical); err != nil {
			refuse(jsonfmt.EncodeSample(m), FormatJSONSamples, err.Error())
			continue
		}
		if m.SeriesID == 0 {
			m.SeriesID = m.ComputeSeriesID()
		}
		m.IngestedNano = now.UnixNano()
		if fresh(m.ContentHash()) {
			s.msg.Samples = append(s.msg.Samples, *m)
			s.msg.Bytes += m.MemSize()
		}
	}
	for _, r := range in.Batch.Rejected {
		raw, format := r.Raw, Detect("application/json", r.Raw, false)
		if in.Format == FormatZipkinJSON {
			raw, format = append(append([]byte("["), r.Raw...), ']'), FormatZipkinJSON
		}
		refuse(raw, format, r.Reason)
	}
	return s
}

// RejectPayload keeps a payload that could not be decoded at all.
func (p *Pipeline) RejectPayload(ctx context.Context, tenant, source string, format Format, payload []byte, reason string) {
	p.payloads.WithLabelValues(source, "invalid").Inc()
	if tenant == "" {
		return
	}
	dead := p.keepDead([]domain.DeadLetter{p.deadLetter(tenant, source, format, payload, reason, p.now())}, p.now(), true)
	if len(dead) == 0 {
		return
	}
	if err := p.dlq.PutDeadLetters(ctx, dead); err != nil {
		p.logger.Error("dead-letter write failed", "err", err)
	}
}

func (p *Pipeline) deadLetter(tenant, source string, format Format, payload []byte, reason string, now time.Time) domain.DeadLetter {
	if len(payload) > p.cfg.MaxDeadLetterPayload {
		payload = payload[:p.cfg.MaxDeadLetterPayload]
		format = "truncated"
		reason += fmt.Sprintf(" (payload truncated to %d bytes)", p.cfg.MaxDeadLetterPayload)
	}
	return domain.DeadLetter{
		Tenant: tenant, ID: domain.NewID(), TimeUnixNano: now.UnixNano(), Source: source,
		Format: string(format), Reason: reason, Payload: append([]byte(nil), payload...),
	}
}

// ErrReplayed is returned for a dead letter that was replayed already.
var ErrReplayed = errors.New("already replayed")

// ErrNotReplayable is returned for dead letters whose payload cannot be
// decoded again (truncated, or of no known format).
var ErrNotReplayable = errors.New("dead letter cannot be replayed")

// Replay decodes a dead letter again and offers it to the pipeline as an
// import (its original timestamps are kept). It is marked replayed only if
// every record was accepted; refusals are reported, not dead-lettered again.
func (p *Pipeline) Replay(ctx context.Context, tenant, id string) (*Result, error) {
	d, err := p.dlq.DeadLetter(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if d.ReplayedAtNano != 0 {
		return nil, fmt.Errorf("%w: dead letter %s was replayed at %s", ErrReplayed, id, time.Unix(0, d.ReplayedAtNano).UTC().Format(time.RFC3339))
	}
	f := Format(d.Format)
	batch, err := DecodeWith(f, d.Payload, p.now(), p.cfg.Decode)
	var bad []BadLine
	if err != nil {
		if f != FormatJSONEvents && f != FormatOTLPJSONLines || !LineDelimited(d.Payload) {
			return nil, fmt.Errorf("%w: %v", ErrNotReplayable, err)
		}
		// Line by line, as it was received: the lines that still do
		// not decode are counted and named, the others go in.
		batch, bad = DecodeLines(f, d.Payload, p.now(), 1, p.cfg.Decode)
	}
	res := &Result{}
	for _, b := range bad {
		res.RefuseUnread(b.Reason())
	}
	if batch.Len() > 0 || len(batch.Rejected) > 0 {
		// The rules the records first met: history only for an import's.
		historical := Historical(d.Source == SourceImport)
		got, err := p.Accept(ctx, Input{Tenant: tenant, Source: "replay", Format: f, Batch: batch, Historical: historical, NoDeadLetter: true})
		if err != nil {
			return nil, err
		}
		res.Merge(got)
	}
	if res.Rejected == 0 {
		if err := p.dlq.MarkReplayed(ctx, tenant, id, p.now().UnixNano()); err != nil {
			return res, err
		}
	}
	return res, nil
}

// DecodeOptions are how payloads for this pipeline are decoded.
func (p *Pipeline) DecodeOptions() DecodeOptions { return p.cfg.Decode }

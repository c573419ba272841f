package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

func TestValidateEvent(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := DefaultConfig().Limits
	ok := func() domain.Event {
		return domain.Event{TimeUnixNano: now.UnixNano(), Kind: domain.KindSpan, Service: "s", Name: "n", TraceID: "t", SpanID: "s", SampleRate: 1}
	}
	f := func(mut func(*domain.Event), historical Historical, want string) {
		t.Helper()
		e := ok()
		mut(&e)
		err := l.ValidateEvent(&e, now, historical)
		if want == "" {
			assert.NoError(t, err)
			return
		}
		assert.ErrorContains(t, err, want)
	}
	f(func(*domain.Event) {}, false, "")
	f(func(e *domain.Event) { e.TimeUnixNano = now.Add(2 * time.Hour).UnixNano() }, false, "in the future")
	f(func(e *domain.Event) { e.TimeUnixNano = now.Add(2 * time.Hour).UnixNano() }, true, "in the future")
	f(func(e *domain.Event) { e.TimeUnixNano = now.Add(-8 * 24 * time.Hour).UnixNano() }, false, "older than the retention")
	f(func(e *domain.Event) { e.TimeUnixNano = now.Add(-8 * 24 * time.Hour).UnixNano() }, true, "")
	f(func(e *domain.Event) { e.TimeUnixNano = 0 }, false, "missing timestamp")
	f(func(e *domain.Event) { e.Kind = "metric" }, false, "kind")
	f(func(e *domain.Event) { e.Service = "" }, false, "missing service")
	f(func(e *domain.Event) { e.Name = "" }, false, "missing name")
	f(func(e *domain.Event) { e.Status = "bad" }, false, "status")
	f(func(e *domain.Event) { e.SpanID = "" }, false, "span_id")
	f(func(e *domain.Event) { e.DurationNano = -1 }, false, "ends before it starts")
	f(func(e *domain.Event) { e.SampleRate = math.NaN() }, false, "sample_rate")
	f(func(e *domain.Event) { e.SampleRate = 0.5 }, false, "sample_rate")
	f(func(e *domain.Event) { e.PutNum("x", math.Inf(1)) }, false, `attribute "x"`)
	e := ok()
	e.Body = string(make([]byte, 100<<10))
	require.NoError(t, l.ValidateEvent(&e, now, false))
	assert.Len(t, e.Body, 64<<10, "long bodies are truncated, not refused")

	s := domain.Sample{Name: "m", TimeUnixNano: now.UnixNano(), Value: math.NaN()}
	assert.NoError(t, l.ValidateSample(&s, now, false), "NaN is a Prometheus value (empty summaries, staleness markers)")
	s.Value = math.Inf(-1)
	assert.NoError(t, l.ValidateSample(&s, now, false))
	s.Value, s.Name = 1, ""
	assert.ErrorContains(t, l.ValidateSample(&s, now, false), "missing metric name")
}

func TestDedupWindow(t *testing.T) {
	d := NewDedup(time.Minute, 100)
	t0 := time.Now()
	assert.False(t, d.Seen(1, t0))
	assert.True(t, d.Seen(1, t0.Add(30*time.Second)))
	assert.True(t, d.Seen(1, t0.Add(90*time.Second)), "still in the previous generation")
	assert.False(t, d.Seen(1, t0.Add(200*time.Second)), "forgotten after two windows")
	d.Forget(1)
	assert.False(t, d.Seen(1, t0.Add(201*time.Second)))
	var off *Dedup
	assert.False(t, off.Seen(1, t0))
	// The entry cap rotates early rather than growing without bound.
	small := NewDedup(time.Hour, 2)
	for h := range uint64(10) {
		small.Seen(h, t0)
	}
	assert.LessOrEqual(t, len(small.cur)+len(small.prev), 4)
}

func TestLocalBus(t *testing.T) {
	b := NewLocalBus(3)
	ctx := context.Background()
	msg := func(n int) *Message { return &Message{Tenant: "t", Events: make([]domain.Event, n)} }
	require.NoError(t, b.Publish(ctx, msg(2)))
	assert.ErrorIs(t, b.Publish(ctx, msg(2)), ErrFull)
	require.NoError(t, b.Publish(ctx, msg(1)))
	assert.Equal(t, 3, b.Depth())
	require.NoError(t, b.Close())
	assert.ErrorIs(t, b.Publish(ctx, msg(1)), ErrClosed)

	var got []int
	require.NoError(t, b.Consume(ctx, func(m *Message) {
		got = append(got, m.Len())
		m.Ack()
	}), "returns nil once closed and drained")
	assert.Equal(t, []int{2, 1}, got)
	assert.Equal(t, 0, b.Depth())

	// A message bigger than the whole capacity still goes through an empty
	// queue, so one large request is never refused forever.
	b2 := NewLocalBus(1)
	require.NoError(t, b2.Publish(ctx, msg(5)))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, b2.Consume(cctx, func(*Message) {}), context.Canceled)
}

// memStore records writes and can be told to fail. The embedded interfaces
// are nil: the writer only calls the three write methods defined here.
type memStore struct {
	storage.EventStore
	storage.MetricStore
	storage.DeadLetterStore
	mu      sync.Mutex
	fail    bool
	poison  string // a batch holding an event of this name is refused
	events  []domain.Event
	samples []domain.Sample
	dead    []domain.DeadLetter
	writes  int
}

func (m *memStore) WriteEvents(_ context.Context, evs []domain.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	if m.fail {
		return errors.New("disk full")
	}
	for _, e := range evs {
		if m.poison != "" && e.Name == m.poison {
			return errors.New("NOT NULL constraint failed: events.name")
		}
	}
	m.events = append(m.events, evs...)
	return nil
}

func (m *memStore) WriteSamples(_ context.Context, ss []domain.Sample) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, ss...)
	return nil
}

func (m *memStore) PutDeadLetters(_ context.Context, d []domain.DeadLetter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dead = append(m.dead, d...)
	return nil
}

func (m *memStore) DeadLetter(_ context.Context, tenant, id string) (*domain.DeadLetter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.dead {
		if m.dead[i].Tenant == tenant && m.dead[i].ID == id {
			d := m.dead[i]
			return &d, nil
		}
	}
	return nil, storage.ErrNotFound
}

func (m *memStore) MarkReplayed(_ context.Context, tenant, id string, at int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.dead {
		if m.dead[i].Tenant == tenant && m.dead[i].ID == id {
			m.dead[i].ReplayedAtNano = at
		}
	}
	return nil
}

func (m *memStore) snapshot() (int, int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events), m.writes, len(m.dead)
}

func newWriter(t *testing.T, cfg WriterConfig, m *memStore, tail Tail) (*LocalBus, *Writer) {
	t.Helper()
	bus := NewLocalBus(1 << 20)
	w, err := NewWriter(cfg, bus, m, m, m, tail, nil, nil)
	require.NoError(t, err)
	require.NoError(t, w.Start(context.Background()))
	return bus, w
}

func events(n int) []domain.Event {
	out := make([]domain.Event, n)
	for i := range out {
		out[i] = domain.Event{Tenant: "t", Service: "s", Name: "n", Kind: domain.KindEvent}
	}
	return out
}

func TestWriterFlushesBySizeAndTime(t *testing.T) {
	m := &memStore{}
	bus, w := newWriter(t, WriterConfig{BatchSize: 100, FlushInterval: time.Hour, Workers: 1}, m, NewLocalTail(nil))
	ctx := context.Background()
	require.NoError(t, bus.Publish(ctx, &Message{Tenant: "t", Events: events(60)}))
	require.NoError(t, bus.Publish(ctx, &Message{Tenant: "t", Events: events(60)}))
	require.Eventually(t, func() bool { n, _, _ := m.snapshot(); return n == 120 }, 5*time.Second, time.Millisecond, "size flush")
	require.NoError(t, w.Shutdown(ctx))
	assert.Equal(t, 0, bus.Depth(), "acked after the store took them")

	m2 := &memStore{}
	bus2, w2 := newWriter(t, WriterConfig{BatchSize: 1000, FlushInterval: 20 * time.Millisecond, Workers: 2}, m2, NewLocalTail(nil))
	require.NoError(t, bus2.Publish(ctx, &Message{Tenant: "t", Events: events(5)}))
	require.Eventually(t, func() bool { n, _, _ := m2.snapshot(); return n == 5 }, 5*time.Second, time.Millisecond, "time flush")
	require.NoError(t, w2.Shutdown(ctx))
	require.NoError(t, w2.Shutdown(ctx), "idempotent")
}

func TestWriterDeadLettersWhatTheStoreRefuses(t *testing.T) {
	m := &memStore{fail: true}
	bus, w := newWriter(t, WriterConfig{BatchSize: 10, FlushInterval: time.Hour, Workers: 1, Retries: 1}, m, NewLocalTail(nil))
	require.NoError(t, bus.Publish(context.Background(), &Message{Tenant: "t", Events: events(10)}))
	require.Eventually(t, func() bool { _, _, d := m.snapshot(); return d == 10 }, 5*time.Second, time.Millisecond)
	_, writes, _ := m.snapshot()
	assert.GreaterOrEqual(t, writes, 2, "one try and one retry, then the search for the records at fault")
	assert.LessOrEqual(t, writes, 2+isolateBudget, "a store that refuses everything costs a bounded number of writes")
	assert.Contains(t, m.dead[0].Reason, "disk full")
	require.NoError(t, w.Shutdown(context.Background()))
}

// TestWriterRefusesOnlyTheRecordAtFault: one tenant's poison record in a
// batch of two tenants' records is the only one dead-lettered, under its
// own tenant; everything else is stored.
func TestWriterRefusesOnlyTheRecordAtFault(t *testing.T) {
	m := &memStore{poison: "poison"}
	bus, w := newWriter(t, WriterConfig{BatchSize: 200, FlushInterval: 20 * time.Millisecond, Workers: 1, Retries: 1}, m, NewLocalTail(nil))
	ctx := context.Background()
	a, b := events(100), events(100)
	for i := range a {
		a[i].Tenant, b[i].Tenant = "tenant-a", "tenant-b"
	}
	a[37].Name = "poison"
	require.NoError(t, bus.Publish(ctx, &Message{Tenant: "tenant-a", Events: a}))
	require.NoError(t, bus.Publish(ctx, &Message{Tenant: "tenant-b", Events: b}))
	require.Eventually(t, func() bool { n, _, d := m.snapshot(); return n == 199 && d == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, w.Shutdown(ctx))
	assert.Equal(t, "tenant-a", m.dead[0].Tenant)
	assert.Contains(t, m.dead[0].Reason, "NOT NULL")
	assert.Contains(t, string(m.dead[0].Payload), "poison")
	for _, e := range m.events {
		assert.NotEqual(t, "poison", e.Name)
	}
}

func TestIsolate(t *testing.T) {
	write := func(xs []int) error {
		for _, x := range xs {
			if x%17 == 0 {
				return errors.New("bad")
			}
		}
		return nil
	}
	items := make([]int, 100)
	for i := range items {
		items[i] = i + 1
	}
	budget := isolateBudget
	stored, refused, cause := isolate(items, write, &budget)
	assert.Equal(t, []int{17, 34, 51, 68, 85}, refused)
	assert.Len(t, stored, 95)
	assert.EqualError(t, cause, "bad")

	budget = 3
	stored, refused, _ = isolate(items, write, &budget)
	assert.Equal(t, 100, len(stored)+len(refused), "out of budget, what is not cleared is refused, nothing is lost")
	assert.NotEmpty(t, refused)
}

func TestTailIsolationAndFilters(t *testing.T) {
	tail := NewLocalTail(nil)
	ctx, cancel := context.WithCancel(context.Background())
	f, err := domain.ParseField("service")
	require.NoError(t, err)
	a := tail.Subscribe(ctx, "a", []domain.Filter{{Field: f, Op: domain.OpEq, Value: "web"}}, 10)
	b := tail.Subscribe(ctx, "b", nil, 1)
	tail.Publish([]domain.Event{
		{Tenant: "a", Service: "web", Name: "1"}, {Tenant: "a", Service: "db", Name: "2"},
		{Tenant: "b", Service: "web", Name: "3"}, {Tenant: "b", Service: "web", Name: "4"},
	})
	assert.Equal(t, "1", (<-a).Name)
	assert.Equal(t, "3", (<-b).Name, "a slow subscriber misses events rather than blocking")
	cancel()
	_, open := <-a
	assert.False(t, open, "closed when the subscription ends")
}

func TestInvalidUTF8IsReplaced(t *testing.T) {
	e := domain.Event{Service: "pay\xffment", Name: "GET \xfe/x", Body: "ok"}
	e.Attrs.Put("k\xff", "v\xfe")
	assert.True(t, fixEvent(&e))
	assert.Equal(t, "pay\uFFFDment", e.Service)
	assert.Equal(t, "GET \uFFFD/x", e.Name)
	assert.Equal(t, []string{"k\uFFFD"}, e.Attrs.Keys)
	assert.False(t, fixEvent(&e), "valid now")

	s := domain.Sample{Name: "up\xff", SeriesID: 42}
	s.Labels.Put("job", "a\xffb")
	assert.True(t, fixSample(&s))
	assert.Equal(t, "up\uFFFD", s.Name)
	assert.Zero(t, s.SeriesID, "computed again from the fixed labels")
}

// TestDeadLettersAreCapped: garbage is a write path too. A tenant's dead
// letters stop being kept past its hourly cap, and undecodable payloads
// count against its daily byte quota; another tenant is not affected.
func TestDeadLettersAreCapped(t *testing.T) {
	m := &memStore{}
	cfg := DefaultConfig()
	cfg.DeadLetterBytesPerHour = 1 << 20
	cfg.Quotas = QuotaConfig{BytesPerDay: 3 << 20}
	p, err := NewPipeline(cfg, NewLocalBus(1000), m, nil, nil)
	require.NoError(t, err)
	junk := make([]byte, 400<<10)
	for i := 0; i < 5; i++ {
		p.RejectPayload(context.Background(), "noisy", "ingest", FormatUnknown, junk, "unrecognised payload")
	}
	p.RejectPayload(context.Background(), "quiet", "ingest", FormatUnknown, junk, "unrecognised payload")
	count := func(tenant string) int {
		n := 0
		for _, d := range m.dead {
			if d.Tenant == tenant {
				n++
			}
		}
		return n
	}
	assert.Equal(t, 2, count("noisy"), "two 400 KiB payloads fit the 1 MiB hourly cap, the third does not")
	assert.Equal(t, 1, count("quiet"), "a cap per tenant")

	// The daily byte quota counts undecodable payloads too.
	m = &memStore{}
	cfg.Quotas = QuotaConfig{BytesPerDay: 500 << 10}
	p, err = NewPipeline(cfg, NewLocalBus(1000), m, nil, nil)
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		p.RejectPayload(context.Background(), "noisy", "ingest", FormatUnknown, junk, "unrecognised payload")
	}
	assert.Equal(t, 1, count("noisy"), "the second 400 KiB is over the 500 KiB daily quota")
	_, err = p.Accept(context.Background(), Input{Tenant: "noisy", Source: "events", Batch: &Batch{Events: events(1), Bytes: 200 << 10}})
	var qe *QuotaError
	assert.ErrorAs(t, err, &qe, "the garbage used the tenant's quota")
}

// TestLocalBusBoundedInBytes: wide records fill the queue by their size,
// not their count; room comes back as the writers store them.
func TestLocalBusBoundedInBytes(t *testing.T) {
	b := NewLocalBus(1_000_000)
	b.SetByteLimit(1000)
	ctx := context.Background()
	require.NoError(t, b.Publish(ctx, &Message{Tenant: "t", Events: events(1), Bytes: 600}))
	assert.ErrorIs(t, b.Publish(ctx, &Message{Tenant: "t", Events: events(1), Bytes: 600}), ErrFull, "1,200 bytes is over the limit")
	got := make(chan *Message, 1)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = b.Consume(cctx, func(m *Message) { got <- m }) }()
	(<-got).Ack()
	require.NoError(t, b.Publish(ctx, &Message{Tenant: "t", Events: events(1), Bytes: 600}), "room again once stored")

	e := domain.Event{Service: "s", Name: "n"}
	small := e.MemSize()
	e.Attrs.Put("big", strings.Repeat("x", 10_000))
	assert.Greater(t, e.MemSize(), small+10_000, "an event's size counts its attributes")
}

// TestImportStreamsLines: an NDJSON file is read a chunk of lines at a
// time (progress reports the bytes read, more than once), every record
// arrives, and a broken line stops the import naming where it is, after
// the records before it.
func TestImportStreamsLines(t *testing.T) {
	m := &memStore{}
	p, err := NewPipeline(DefaultConfig(), NewLocalBus(1_000_000), m, nil, nil)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "events.ndjson")
	var b strings.Builder
	for i := 0; i < 12_000; i++ {
		fmt.Fprintf(&b, `{"timestamp":"2020-01-01T00:00:%02dZ","service":"batch","name":"job","seq":%d}`+"\n", i%60, i)
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	var calls, last, size int
	res, format, err := ImportFile(context.Background(), p, "t", path, func(done, total int) { calls++; last, size = done, total })
	require.NoError(t, err)
	assert.Equal(t, FormatJSONEvents, format)
	assert.Equal(t, 12_000, res.Accepted)
	assert.Greater(t, calls, 1, "progress by chunk")
	assert.Equal(t, b.Len(), size)
	assert.Equal(t, size, last)

	// A cut-off line, a line that is not JSON and an array where an
	// object belongs, among good lines: each bad line is counted, named by
	// its number and skipped; every good line, before and after, is
	// imported.
	broken := b.String() + "{\"service\": \"batch\", \"na\n" + `{"service":"batch","name":"after","timestamp":"2020-01-01T00:01:00Z"}` + "\n" +
		"not json at all\n" + `[1,2]` + "\n" + `{"service":"batch","name":"last","timestamp":"2020-01-01T00:01:01Z"}` + "\n"
	require.NoError(t, os.WriteFile(path, []byte(broken), 0o644))
	res, _, err = ImportFile(context.Background(), p, "t2", path, nil)
	require.NoError(t, err, "malformed lines are skipped, not fatal")
	assert.Equal(t, 12_002, res.Accepted, "the lines before and after the bad ones are imported")
	assert.Equal(t, 2, res.Malformed, "the cut-off line and the one that is not JSON")
	assert.Equal(t, 2, res.Rejected, "an array of numbers is JSON: its two values are rejected records, kept as dead letters")
	assert.Contains(t, strings.Join(res.Errors, "; "), "line 12001 skipped")
	assert.Contains(t, strings.Join(res.Errors, "; "), "line 12003 skipped")
	assert.Contains(t, strings.Join(res.Errors, "; "), "record is not a JSON object")
	assert.Contains(t, NewSummary(FormatJSONEvents, res).Text("events.ndjson", "stored"), "malformed   2 line(s)")
}

// TestInvalidUTF8CountedForJSON: JSON records whose bad bytes the decoder
// replaced count in inquest_ingest_invalid_utf8_records_total, as OTLP's do.
func TestInvalidUTF8CountedForJSON(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := NewPipeline(DefaultConfig(), NewLocalBus(1000), &memStore{}, reg, nil)
	require.NoError(t, err)
	now := time.Now().UTC().Format(time.RFC3339)
	b, err := Decode(FormatJSONEvents, []byte(`{"timestamp":"`+now+"\",\"name\":\"bad \xff\"}\n{\"timestamp\":\""+now+`","name":"ok"}`), time.Now())
	require.NoError(t, err)
	_, err = p.Accept(context.Background(), Input{Tenant: "t", Source: "events", Format: FormatJSONEvents, Batch: b})
	require.NoError(t, err)
	assert.Equal(t, 1.0, testutil.ToFloat64(p.invalidUTF8))
}

// msgOf is a message of n records for tenant.
func msgOf(tenant string, n int) *Message {
	m := &Message{Tenant: tenant, Bytes: int64(n) * 100}
	for i := 0; i < n; i++ {
		m.Events = append(m.Events, domain.Event{Tenant: tenant, Name: fmt.Sprint(i)})
	}
	return m
}

// TestLocalBusFairShares: a tenant alone may fill the queue; once another
// is sending, a flooding tenant is refused past its share of a contended
// queue, naming it, while the other's batches still go in — even with the
// queue full, into its headroom; and a write-ahead log replaying one
// tenant's backlog past the bound refuses only that tenant.
func TestLocalBusFairShares(t *testing.T) {
	ctx := context.Background()
	alone := NewLocalBus(1000)
	for i := 0; i < 10; i++ {
		require.NoError(t, alone.Publish(ctx, msgOf("a", 100)), "a tenant alone uses the whole queue")
	}
	require.ErrorIs(t, alone.Publish(ctx, msgOf("a", 100)), ErrFull)

	clock := time.Unix(1_700_000_000, 0)
	b := NewLocalBus(1000)
	b.now = func() time.Time { return clock }
	require.NoError(t, b.Publish(ctx, msgOf("victim", 10)))
	flooded := 0
	var refusal error
	for i := 0; i < 20; i++ {
		if err := b.Publish(ctx, msgOf("flood", 100)); err != nil {
			refusal = err
			break
		}
		flooded += 100
	}
	require.ErrorIs(t, refusal, ErrFull)
	assert.Contains(t, refusal.Error(), "tenant flood holds")
	assert.LessOrEqual(t, flooded, 600, "the flood stops near half of the queue")
	for i := 0; i < 30; i++ {
		require.NoError(t, b.Publish(ctx, msgOf("victim", 10)), "the other tenant's batch %d goes in", i)
	}
	require.NoError(t, b.Publish(ctx, msgOf("big", 400)), "a tenant holding nothing places one batch larger than its share")
	require.ErrorIs(t, b.Publish(ctx, msgOf("big", 400)), ErrFull, "but not a second")

	// After a restart the log hands back 1,500 records of one tenant,
	// more than the queue holds: another tenant still gets in.
	dir := t.TempDir()
	w, err := OpenWAL(WALConfig{Dir: dir}, nil, nil)
	require.NoError(t, err)
	for i := 0; i < 15; i++ {
		require.NoError(t, w.Append(msgOf("flood", 100)))
	}
	require.NoError(t, w.Close())
	w, err = OpenWAL(WALConfig{Dir: dir}, nil, nil)
	require.NoError(t, err)
	defer w.Close()
	r := NewLocalBus(1000)
	r.SetLog(w)
	assert.Equal(t, 1500, r.Depth())
	require.ErrorIs(t, r.Publish(ctx, msgOf("flood", 10)), ErrFull, "the tenant whose backlog it is waits")
	require.NoError(t, r.Publish(ctx, msgOf("quiet", 10)), "another tenant is not refused for it")
}

// TestMemoryPressureRefusesTheHeaviest: near the memory limit the tenant
// holding most of the queue is refused while one holding nothing still
// gets in; at the limit everyone is refused; on a bus that cannot tell
// shares, everyone is refused near the limit.
func TestMemoryPressureRefusesTheHeaviest(t *testing.T) {
	ctx := context.Background()
	bus := NewLocalBus(1_000_000)
	p, err := NewPipeline(DefaultConfig(), bus, &memStore{}, nil, nil)
	require.NoError(t, err)
	var pressed, full atomic.Bool
	p.PushBackWhen(pressed.Load, full.Load)
	events := func(tenant string, n int) Input {
		b := &Batch{Bytes: int64(n) * 100}
		for i := 0; i < n; i++ {
			b.Events = append(b.Events, domain.Event{Kind: domain.KindEvent, Service: "s", Name: fmt.Sprint(tenant, i), TimeUnixNano: time.Now().UnixNano()})
		}
		return Input{Tenant: tenant, Source: "events", Format: FormatJSONEvents, Batch: b}
	}
	_, err = p.Accept(ctx, events("heavy", 1000))
	require.NoError(t, err)
	pressed.Store(true)
	_, err = p.Accept(ctx, events("heavy", 10))
	assert.ErrorIs(t, err, ErrOverMemory, "the tenant holding the queue")
	_, err = p.Accept(ctx, events("light", 10))
	assert.NoError(t, err, "a tenant holding nothing")
	full.Store(true)
	_, err = p.Accept(ctx, events("light", 10))
	assert.ErrorIs(t, err, ErrOverMemory, "at the limit, everyone")

	kafkaLike, err := NewPipeline(DefaultConfig(), opaqueBus{bus}, &memStore{}, nil, nil)
	require.NoError(t, err)
	kafkaLike.PushBackWhen(pressed.Load, func() bool { return false })
	_, err = kafkaLike.Accept(ctx, events("light2", 10))
	assert.ErrorIs(t, err, ErrOverMemory, "no shares to tell: everyone near the limit")
}

// opaqueBus hides a bus's shares.
type opaqueBus struct{ Bus }

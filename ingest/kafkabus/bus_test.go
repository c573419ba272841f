package kafkabus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/ingest/kafkabus"
	"github.com/inquest/inquest/storage"
)

// memStore records what the writer stores, counting copies per event id.
// The store is not under test here; the bus is.
type memStore struct {
	storage.EventStore
	storage.MetricStore
	storage.DeadLetterStore
	mu     sync.Mutex
	copies map[uint64]int
	dead   int
}

func newMemStore() *memStore { return &memStore{copies: map[uint64]int{}} }

func (m *memStore) WriteEvents(_ context.Context, evs []domain.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range evs {
		m.copies[e.ID]++
	}
	return nil
}

func (m *memStore) PutDeadLetters(_ context.Context, dls []domain.DeadLetter) error {
	m.mu.Lock()
	m.dead += len(dls)
	m.mu.Unlock()
	return nil
}

func (m *memStore) stored() (unique, twice int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.copies {
		if n > 1 {
			twice++
		}
	}
	return len(m.copies), twice
}

func cluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func newBus(t *testing.T, brokers []string, mutate ...func(*kafkabus.Config)) *kafkabus.Bus {
	t.Helper()
	cfg := kafkabus.Config{Brokers: brokers, Partitions: 4, ProduceTimeout: 3 * time.Second,
		CommitInterval: 50 * time.Millisecond, RevokeWait: 5 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := kafkabus.New(context.Background(), cfg, prometheus.NewRegistry(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
	return b
}

var base = time.Now().Add(-time.Minute).UnixNano()

// message makes n spans of one tenant over a few traces, with ids unique
// across calls through seq.
func message(seq, n int) *ingest.Message {
	m := &ingest.Message{Tenant: "t1"}
	for i := 0; i < n; i++ {
		// The same seq gives the same records (a client's retry).
		e := domain.Event{Tenant: "t1", TimeUnixNano: base + int64(seq*1000+i), Kind: domain.KindSpan, Service: "checkout",
			Name: "op", TraceID: fmt.Sprintf("trace-%d-%d", seq, i%3), SpanID: fmt.Sprint(i), Status: domain.StatusOK, SampleRate: 1}
		e.Attrs.Put("seq", fmt.Sprint(seq))
		e.PutNum("i", float64(i))
		e.ID = e.ContentHash()
		m.Events = append(m.Events, e)
	}
	return m
}

func publish(t *testing.T, b *kafkabus.Bus, from, to, per int) {
	t.Helper()
	for s := from; s < to; s++ {
		require.NoError(t, b.Publish(context.Background(), message(s, per)))
	}
}

func startWriter(t *testing.T, b *kafkabus.Bus, st *memStore) (stop func()) {
	t.Helper()
	w, err := ingest.NewWriter(ingest.WriterConfig{BatchSize: 200, FlushInterval: 50 * time.Millisecond, Workers: 2, Retries: 1,
		DedupWindow: time.Minute},
		b, st, st, st, ingest.NewLocalTail(prometheus.NewRegistry()), prometheus.NewRegistry(), nil)
	require.NoError(t, err)
	require.NoError(t, w.Start(context.Background()))
	var once sync.Once
	stop = func() {
		once.Do(func() {
			require.NoError(t, w.Shutdown(context.Background()))
			require.NoError(t, b.Shutdown(context.Background()))
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitStored(t *testing.T, st *memStore, want int) {
	t.Helper()
	require.Eventually(t, func() bool { u, _ := st.stored(); return u >= want }, 30*time.Second, 10*time.Millisecond,
		"stored %v of %d", func() int { u, _ := st.stored(); return u }(), want)
}

func TestProduceConsumeThroughTheWriter(t *testing.T) {
	c := cluster(t)
	gw := newBus(t, c.ListenAddrs())
	publish(t, gw, 0, 50, 20)
	st := newMemStore()
	startWriter(t, newBus(t, c.ListenAddrs()), st)
	waitStored(t, st, 1000)
	u, twice := st.stored()
	assert.Equal(t, 1000, u)
	assert.Zero(t, twice, "nothing stored twice")
	assert.Zero(t, st.dead)
}

// A writer that received records and died before storing them commits
// nothing past them: the next writer of the group stores every one.
func TestWriterKilledMidBatch(t *testing.T) {
	c := cluster(t)
	gw := newBus(t, c.ListenAddrs())
	publish(t, gw, 0, 40, 10)
	st := newMemStore()

	// Writer A stores the first 10 messages it receives and acknowledges
	// them; then it dies holding the rest unstored.
	a := newBus(t, c.ListenAddrs())
	ctx, cancel := context.WithCancel(context.Background())
	got := 0
	var mu sync.Mutex
	go func() {
		_ = a.Consume(ctx, func(m *ingest.Message) {
			mu.Lock()
			defer mu.Unlock()
			got++
			if got <= 10 {
				_ = st.WriteEvents(ctx, m.Events)
				m.Ack()
			}
		})
	}()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return got > 20 }, 30*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, a.Shutdown(context.Background()))
	storedByA, _ := st.stored()
	require.Positive(t, storedByA)

	startWriter(t, newBus(t, c.ListenAddrs()), st)
	waitStored(t, st, 400)
	u, twice := st.stored()
	assert.Equal(t, 400, u, "nothing accepted is lost")
	assert.Zero(t, twice, "what A stored and committed is not stored again")
}

// Partitions move between writers while data flows: nothing is lost, and
// the writer giving partitions up stores what it holds before the other
// takes over.
func TestRebalance(t *testing.T) {
	c := cluster(t)
	gw := newBus(t, c.ListenAddrs())
	st := newMemStore()
	startWriter(t, newBus(t, c.ListenAddrs()), st)
	publish(t, gw, 0, 30, 10)
	waitStored(t, st, 100)

	startWriter(t, newBus(t, c.ListenAddrs()), st) // joins: a rebalance
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := 30; s < 90; s++ {
			if err := gw.Publish(context.Background(), message(s, 10)); err != nil {
				t.Errorf("publish: %v", err)
				return
			}
		}
	}()
	<-done
	waitStored(t, st, 900)
	u, twice := st.stored()
	assert.Equal(t, 900, u)
	assert.Zero(t, twice, "a rebalance does not store records twice")
}

// The broker goes away and comes back with its data: gateways refuse
// (ErrFull, a 503 to clients) meanwhile instead of hanging or dropping,
// and every record they accepted is stored once.
func TestBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	c := cluster(t, kfake.DataDir(dir))
	addrs := c.ListenAddrs()
	var port int
	_, err := fmt.Sscanf(addrs[0][len("127.0.0.1:"):], "%d", &port)
	require.NoError(t, err)

	gw := newBus(t, addrs, func(cfg *kafkabus.Config) { cfg.ProduceTimeout = time.Second })
	st := newMemStore()
	stopWriter := startWriter(t, newBus(t, addrs), st)
	publish(t, gw, 0, 20, 10)
	waitStored(t, st, 200)

	c.Close()
	err = gw.Publish(context.Background(), message(1000, 10))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ingest.ErrFull), "a client is told to retry: %v", err)

	c2, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(dir), kfake.Ports(port))
	require.NoError(t, err)
	t.Cleanup(c2.Close)
	require.Eventually(t, func() bool { return gw.Publish(context.Background(), message(20, 10)) == nil },
		30*time.Second, 50*time.Millisecond, "the gateway recovers")
	publish(t, gw, 21, 40, 10)
	waitStored(t, st, 400)
	u, twice := st.stored()
	// The refused message may still arrive, whole or in part (its records
	// are spread over partitions and were handed to the client library
	// before the broker went away); the client was told to retry, and a
	// retry would have the same content hashes.
	assert.GreaterOrEqual(t, u, 400, "everything accepted is stored")
	assert.LessOrEqual(t, u, 410, "and at most the refused message besides")
	assert.Zero(t, twice, "redelivered records are not stored twice")
	stopWriter() // while the broker is up, to commit
}

func TestConfigErrors(t *testing.T) {
	_, err := kafkabus.New(context.Background(), kafkabus.Config{}, prometheus.NewRegistry(), nil)
	assert.ErrorContains(t, err, "no brokers")
	_, err = kafkabus.New(context.Background(), kafkabus.Config{Brokers: []string{"127.0.0.1:1"}, Compression: "brotli"}, prometheus.NewRegistry(), nil)
	assert.ErrorContains(t, err, `compression "brotli"`)
}

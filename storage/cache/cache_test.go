package cache

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/storetest"
)

func TestLocalTTL(t *testing.T) {
	l := NewLocal(2)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	ctx := context.Background()
	l.Set(ctx, "a", []byte("1"), time.Second)
	v, ok := l.Get(ctx, "a")
	assert.True(t, ok)
	assert.Equal(t, "1", string(v))
	now = now.Add(time.Second)
	_, ok = l.Get(ctx, "a")
	assert.False(t, ok, "expired")
	l.Set(ctx, "b", nil, time.Hour)
	l.Set(ctx, "c", nil, time.Hour)
	l.Set(ctx, "d", nil, time.Hour)
	_, ok = l.Get(ctx, "b")
	assert.False(t, ok, "evicted past the size")
}

// counting is a store whose reads are counted and can block.
type counting struct {
	storage.Store
	calls atomic.Int32
	gate  chan struct{}
}

func (c *counting) Aggregate(_ context.Context, q domain.Query) (*domain.AggregateResult, error) {
	c.calls.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	v := float64(q.Range.End - q.Range.Start)
	return &domain.AggregateResult{Columns: []string{q.Tenant}, Rows: []domain.AggregateRow{{Values: []*float64{&v}}}}, nil
}

func (c *counting) Services(_ context.Context, tenant string, _ domain.TimeRange) ([]domain.ServiceSummary, error) {
	c.calls.Add(1)
	return []domain.ServiceSummary{{Name: "svc-" + tenant}}, nil
}

// broken is a cache that always misses and drops writes.
type broken struct{}

func (broken) Get(context.Context, string) ([]byte, bool)         { return nil, false }
func (broken) Set(context.Context, string, []byte, time.Duration) {}

func TestStoreCachesPerTenant(t *testing.T) {
	under := &counting{}
	s := NewStore(under, NewLocal(100), DefaultConfig(), nil)
	ctx := context.Background()
	now := time.Now()
	q := func(tenant string, jitter time.Duration) domain.Query {
		return domain.Query{Tenant: tenant, Range: domain.TimeRange{Start: now.Add(-15*time.Minute + jitter).UnixNano(), End: now.Add(jitter).UnixNano()}}
	}
	r1, err := s.Aggregate(ctx, q("a", 0))
	require.NoError(t, err)
	// The same relative range asked a moment later aligns to the same key.
	r2, err := s.Aggregate(ctx, q("a", time.Millisecond))
	require.NoError(t, err)
	assert.Equal(t, r1, r2)
	aligned := now.UnixNano() - now.UnixNano()%int64(10*time.Second)
	if now.Add(time.Millisecond).UnixNano() < aligned+int64(10*time.Second) {
		assert.Equal(t, int32(1), under.calls.Load(), "second query served from the cache")
	}
	b, err := s.Aggregate(ctx, q("b", 0))
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, b.Columns, "tenants never share an answer")
	svcs, err := s.Services(ctx, "b", q("b", 0).Range)
	require.NoError(t, err)
	assert.Equal(t, "svc-b", svcs[0].Name)

	// A burst of identical queries computes once. The range is fixed in
	// the past: one ending now aligns to another key once a 10 s step
	// passes, which a loaded machine's late goroutines would see.
	burst := &counting{gate: make(chan struct{})}
	bs := NewStore(burst, NewLocal(100), DefaultConfig(), nil)
	past := domain.Query{Tenant: "a", Range: domain.TimeRange{Start: now.Add(-25 * time.Hour).UnixNano(), End: now.Add(-24 * time.Hour).UnixNano()}}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = bs.Aggregate(ctx, past)
		}()
	}
	require.Eventually(t, func() bool { return burst.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(burst.gate)
	wg.Wait()
	assert.Equal(t, int32(1), burst.calls.Load())

	// A cache that fails is only slower.
	bad := NewStore(&counting{}, broken{}, DefaultConfig(), nil)
	res, err := bad.Aggregate(ctx, q("a", 0))
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, res.Columns)
}

// The whole conformance suite passes through the cache.
func TestConformanceThroughCache(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store {
		s, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(t.TempDir(), "c.duckdb")}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return NewStore(s, NewLocal(1000), DefaultConfig(), nil)
	})
}

func TestRedis(t *testing.T) {
	addr, stop := storetest.StartRedis(t)
	client, err := DialRedis("redis://" + addr + "/0")
	require.NoError(t, err)
	defer client.Close()
	r := NewRedis(client, "inquest:", nil)
	ctx := context.Background()
	r.Set(ctx, "k", []byte("v"), time.Minute)
	v, ok := r.Get(ctx, "k")
	require.True(t, ok)
	assert.Equal(t, "v", string(v))
	r.Set(ctx, "short", []byte("x"), 50*time.Millisecond)
	require.Eventually(t, func() bool { _, ok := r.Get(ctx, "short"); return !ok }, 5*time.Second, 10*time.Millisecond, "expires")

	under := &counting{}
	s := NewStore(under, r, DefaultConfig(), nil)
	rng := domain.TimeRange{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), End: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).UnixNano()}
	for range 3 {
		_, err := s.Aggregate(ctx, domain.Query{Tenant: "a", Range: rng})
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), under.calls.Load(), "served from Redis")

	// Redis goes away: queries still answer, as misses, without waiting long.
	stop()
	start := time.Now()
	_, err = s.Aggregate(ctx, domain.Query{Tenant: "a", Range: rng})
	require.NoError(t, err)
	assert.Equal(t, int32(2), under.calls.Load())
	assert.Less(t, time.Since(start), 2*time.Second)
	_, err = DialRedis("not a url")
	assert.Error(t, err)
}

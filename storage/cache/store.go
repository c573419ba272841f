package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// Config tunes what is cached and for how long.
type Config struct {
	// Align is the granularity ranges are rounded down to when no bucket
	// or step is given, so that "now-15m" asked twice in a few seconds is
	// the same query. Answers may lag "now" by up to Align.
	Align time.Duration
	// RecentTTL is how long an answer whose range touches now is kept;
	// OldTTL for ranges wholly in the past.
	RecentTTL time.Duration
	OldTTL    time.Duration
}

// DefaultConfig aligns to 10 s and keeps recent answers 5 s, answers over
// past ranges a minute: data that arrives late for a past range (an
// import, a replay) shows after at most that long.
func DefaultConfig() Config {
	return Config{Align: 10 * time.Second, RecentTTL: 5 * time.Second, OldTTL: time.Minute}
}

// Store caches the read-heavy queries of an underlying store: aggregates,
// services, the service map and metric series. Everything else passes
// through. Keys hold the tenant, so tenants never share an answer.
type Store struct {
	storage.Store
	cfg   Config
	cache Cache
	group singleflight.Group
	now   func() time.Time

	lookups *prometheus.CounterVec
}

// NewStore wraps s.
func NewStore(s storage.Store, c Cache, cfg Config, reg prometheus.Registerer) *Store {
	if cfg.Align <= 0 {
		cfg = DefaultConfig()
	}
	cs := &Store{Store: s, cfg: cfg, cache: c, now: time.Now, lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inquest_query_cache_lookups_total", Help: "Query cache lookups by query kind and result (hit, miss).",
	}, []string{"query", "result"})}
	if reg != nil {
		_ = reg.Register(cs.lookups)
	}
	return cs
}

// align rounds a range down to g (at least one g long).
func align(r domain.TimeRange, g time.Duration) domain.TimeRange {
	n := int64(g)
	out := domain.TimeRange{Start: r.Start - r.Start%n, End: r.End - r.End%n}
	if out.End <= out.Start {
		out.End = out.Start + n
	}
	return out
}

func (s *Store) ttl(r domain.TimeRange, g time.Duration) time.Duration {
	if r.End >= s.now().Add(-2*g).UnixNano() {
		return s.cfg.RecentTTL
	}
	return s.cfg.OldTTL
}

func key(kind string, parts ...any) string {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return kind + ":" + hex.EncodeToString(sum[:16])
}

// cached answers from the cache or computes once per key at a time.
func cached[T any](ctx context.Context, s *Store, kind, k string, ttl time.Duration, compute func() (T, error)) (T, error) {
	var zero T
	if b, ok := s.cache.Get(ctx, k); ok {
		var v T
		if json.Unmarshal(b, &v) == nil {
			s.lookups.WithLabelValues(kind, "hit").Inc()
			return v, nil
		}
	}
	s.lookups.WithLabelValues(kind, "miss").Inc()
	v, err, _ := s.group.Do(k, func() (any, error) {
		v, err := compute()
		if err != nil {
			return nil, err
		}
		if b, err := json.Marshal(v); err == nil {
			s.cache.Set(ctx, k, b, ttl)
		}
		return v, nil
	})
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

// Aggregate caches by tenant, query and aligned range. With a bucket the
// start is rounded down to the bucket, so that buckets are whole, but the
// end only to Align: the bucket filling now is answered (the resolver marks
// it partial) rather than dropped until it is complete.
func (s *Store) Aggregate(ctx context.Context, q domain.Query) (*domain.AggregateResult, error) {
	g := s.cfg.Align
	r := align(q.Range, g)
	if q.Bucket > 0 {
		g = q.Bucket
		r.Start = q.Range.Start - q.Range.Start%int64(g)
	}
	q.Range = r
	return cached(ctx, s, "aggregate", key("aggregate", q), s.ttl(q.Range, g), func() (*domain.AggregateResult, error) {
		return s.Store.Aggregate(ctx, q)
	})
}

// Services caches by tenant and aligned range.
func (s *Store) Services(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceSummary, error) {
	r = align(r, s.cfg.Align)
	return cached(ctx, s, "services", key("services", tenant, r), s.ttl(r, s.cfg.Align), func() ([]domain.ServiceSummary, error) {
		return s.Store.Services(ctx, tenant, r)
	})
}

// ServiceMap caches by tenant and aligned range.
func (s *Store) ServiceMap(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceEdge, error) {
	r = align(r, s.cfg.Align)
	return cached(ctx, s, "service_map", key("service_map", tenant, r), s.ttl(r, s.cfg.Align), func() ([]domain.ServiceEdge, error) {
		return s.Store.ServiceMap(ctx, tenant, r)
	})
}

// MetricSeries caches by tenant, query and range: the start rounded down to
// the step, so that steps are whole, the end only to Align, so that the
// step filling now is answered (marked partial) as Aggregate's bucket is.
func (s *Store) MetricSeries(ctx context.Context, q domain.MetricQuery) ([]domain.MetricSeries, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	r := align(q.Range, s.cfg.Align)
	r.Start = q.Range.Start - q.Range.Start%int64(q.Step)
	q.Range = r
	return cached(ctx, s, "metric_series", key("metric_series", q), s.ttl(q.Range, s.cfg.Align), func() ([]domain.MetricSeries, error) {
		return s.Store.MetricSeries(ctx, q)
	})
}

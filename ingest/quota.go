package ingest

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// QuotaConfig bounds what one tenant may send. Zero means unlimited.
type QuotaConfig struct {
	// EventsPerSecond is the sustained rate of records (events and
	// samples) a tenant may send; Burst how many may come at once.
	EventsPerSecond float64
	Burst           int
	// BytesPerDay caps request bytes per tenant per UTC day. Counted in
	// memory: a restart starts the day's count again.
	BytesPerDay int64
}

// QuotaError means a tenant went over its rate or quota: the client should
// wait RetryAfter (HTTP 429, gRPC RESOURCE_EXHAUSTED). Nothing was accepted.
type QuotaError struct {
	Tenant     string
	Msg        string
	RetryAfter time.Duration
}

func (e *QuotaError) Error() string { return fmt.Sprintf("tenant %s: %s", e.Tenant, e.Msg) }

// Quotas enforces QuotaConfig per tenant.
type Quotas struct {
	cfg      QuotaConfig
	now      func() time.Time
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	day      string
	bytes    map[string]int64
}

// NewQuotas makes the per-tenant limiters; nil when nothing is limited.
func NewQuotas(cfg QuotaConfig, now func() time.Time) *Quotas {
	if cfg.EventsPerSecond <= 0 && cfg.BytesPerDay <= 0 {
		return nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(int(cfg.EventsPerSecond), 1000)
	}
	if now == nil {
		now = time.Now
	}
	return &Quotas{cfg: cfg, now: now, limiters: map[string]*rate.Limiter{}, bytes: map[string]int64{}}
}

// Admit charges records and bytes to the tenant, or refuses them all.
func (q *Quotas) Admit(tenant string, records int, bytes int64) error {
	if q == nil {
		return nil
	}
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if day := now.UTC().Format(time.DateOnly); day != q.day {
		q.day, q.bytes = day, map[string]int64{}
	}
	if q.cfg.BytesPerDay > 0 && q.bytes[tenant]+bytes > q.cfg.BytesPerDay {
		midnight := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		return &QuotaError{Tenant: tenant, RetryAfter: midnight.Sub(now),
			Msg: fmt.Sprintf("daily ingest quota of %d bytes used up (resets at 00:00 UTC)", q.cfg.BytesPerDay)}
	}
	if q.cfg.EventsPerSecond > 0 && records > 0 {
		lim, ok := q.limiters[tenant]
		if !ok {
			lim = rate.NewLimiter(rate.Limit(q.cfg.EventsPerSecond), q.cfg.Burst)
			q.limiters[tenant] = lim
		}
		if records > q.cfg.Burst {
			return &QuotaError{Tenant: tenant, RetryAfter: time.Second,
				Msg: fmt.Sprintf("%d records in one request is more than the burst of %d: send smaller batches", records, q.cfg.Burst)}
		}
		r := lim.ReserveN(now, records)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			return &QuotaError{Tenant: tenant, RetryAfter: d,
				Msg: fmt.Sprintf("ingest rate limit of %g records/s exceeded", q.cfg.EventsPerSecond)}
		}
	}
	q.bytes[tenant] += bytes
	return nil
}

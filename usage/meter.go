// Package usage meters what each tenant uses per hour (records and bytes
// ingested, GraphQL operations run), for admins to see and, later, for
// billing and quotas. Counts are kept in memory and added to the store
// periodically, so metering costs ingest a map update, not a write.
package usage

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/internal/loop"
	"github.com/inquest/inquest/storage"
)

type key struct {
	tenant string
	hour   int64
}

// Meter counts usage and flushes it to a UsageStore.
type Meter struct {
	store    storage.UsageStore
	logger   *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	pending map[key]*domain.UsageHour

	tick *loop.Periodic
}

// NewMeter makes a meter that flushes every interval (default 30 s).
func NewMeter(store storage.UsageStore, interval time.Duration, logger *slog.Logger) *Meter {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m := &Meter{store: store, logger: logger, interval: interval, now: time.Now, pending: map[key]*domain.UsageHour{}}
	m.tick = loop.Every(interval, func(ctx context.Context, _ time.Time) {
		if err := m.Flush(ctx); err != nil {
			m.logger.Warn("usage flush failed", "err", err)
		}
	})
	return m
}

// hour is the tenant's pending count for the current hour; m.mu is held.
func (m *Meter) hour(tenant string) *domain.UsageHour {
	return m.pendingFor(tenant, m.now().Truncate(time.Hour).UnixNano())
}

// Ingest counts records accepted for a tenant and the bytes they came in.
func (m *Meter) Ingest(tenant string, records int, bytes int64) {
	m.mu.Lock()
	u := m.hour(tenant)
	u.Events += int64(records)
	u.Bytes += bytes
	m.mu.Unlock()
}

// Query counts one GraphQL operation.
func (m *Meter) Query(tenant string) {
	m.mu.Lock()
	m.hour(tenant).Queries++
	m.mu.Unlock()
}

// Flush adds what was counted to the store; on failure the counts are kept
// for the next flush.
func (m *Meter) Flush(ctx context.Context) error {
	m.mu.Lock()
	batch := make([]domain.UsageHour, 0, len(m.pending))
	for _, u := range m.pending {
		batch = append(batch, *u)
	}
	m.pending = map[key]*domain.UsageHour{}
	m.mu.Unlock()
	if err := m.store.AddUsage(ctx, batch); err != nil {
		m.mu.Lock()
		for _, u := range batch {
			p := m.pendingFor(u.Tenant, u.HourNano)
			p.Events, p.Bytes, p.Queries = p.Events+u.Events, p.Bytes+u.Bytes, p.Queries+u.Queries
		}
		m.mu.Unlock()
		return err
	}
	return nil
}

// pendingFor is the pending count of a tenant's hour; m.mu is held.
func (m *Meter) pendingFor(tenant string, hour int64) *domain.UsageHour {
	k := key{tenant, hour}
	u, ok := m.pending[k]
	if !ok {
		u = &domain.UsageHour{Tenant: tenant, HourNano: hour}
		m.pending[k] = u
	}
	return u
}

// Usage flushes, then lists a tenant's hours.
func (m *Meter) Usage(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.UsageHour, error) {
	if err := m.Flush(ctx); err != nil {
		m.logger.Warn("usage flush failed; showing what is stored", "err", err)
	}
	return m.store.Usage(ctx, tenant, r)
}

// Start flushes every interval until Shutdown.
func (m *Meter) Start(ctx context.Context) error { return m.tick.Start(ctx) }

// Shutdown stops the loop, if it was started, and flushes what is left.
// Idempotent.
func (m *Meter) Shutdown(ctx context.Context) error {
	if err := m.tick.Shutdown(ctx); err != nil {
		return err
	}
	return m.Flush(ctx)
}

package storage

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/inquest/inquest/domain"
)

// Auditor is the one writer of the audit log, for the service (people's
// changes and refusals), the approval flow (every transition of a
// proposal) and authentication (failed API keys). An entry gets its ID and
// time here; a write outlives the request that made it (the change it
// records has happened); a failed write is logged, never handed back to
// the person whose change already stands.
type Auditor struct {
	store  AuditAppender
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	sampled map[string]*sample
}

// sample is what WriteSampled remembers of one kind of refusal.
type sample struct {
	written time.Time
	skipped int
}

// SampleEvery is how often one kind of unverified refusal is written to a
// tenant's log; the ones between are counted into the next entry.
const SampleEvery = time.Minute

// maxSampled bounds the kinds of refusal remembered; past it the oldest
// half is forgotten (a flood of distinct keys costs memory only this far).
const maxSampled = 10_000

// AuditAppender is all an Auditor needs of a store.
type AuditAppender interface {
	AppendAudit(ctx context.Context, entries []domain.AuditEntry) error
}

// NewAuditor writes to store (nil: entries are dropped, for parts run
// without an audit log) and logs failures to logger (nil: the default).
func NewAuditor(store AuditAppender, logger *slog.Logger) *Auditor {
	if logger == nil {
		logger = slog.Default()
	}
	return &Auditor{store: store, logger: logger, now: time.Now, sampled: map[string]*sample{}}
}

// Write appends e to its tenant's log; an entry without a tenant is no
// tenant's, and is not written.
func (a *Auditor) Write(ctx context.Context, e domain.AuditEntry) {
	if a == nil || a.store == nil || e.Tenant == "" {
		return
	}
	if e.ID == "" {
		e.ID = domain.NewID()
	}
	if e.TimeUnixNano == 0 {
		e.TimeUnixNano = a.now().UnixNano()
	}
	if err := a.store.AppendAudit(context.WithoutCancel(ctx), []domain.AuditEntry{e}); err != nil {
		a.logger.Error("audit log write failed", "action", e.Action, "target", e.Target, "err", err)
	}
}

// WriteSampled writes a refusal of a request nobody verified (a forged
// Slack interaction, a wrong secret for a known API key) at most once per
// SampleEvery for each tenant, action and key; those in between are counted
// and the next entry written says how many. A flood of forged requests
// then costs a tenant's log a row a minute, not a row a request.
func (a *Auditor) WriteSampled(ctx context.Context, e domain.AuditEntry, key string) {
	if a == nil || a.store == nil || e.Tenant == "" {
		return
	}
	now := a.now()
	k := e.Tenant + "\x00" + e.Action + "\x00" + key
	a.mu.Lock()
	sm := a.sampled[k]
	if sm != nil && now.Sub(sm.written) < SampleEvery {
		sm.skipped++
		a.mu.Unlock()
		return
	}
	skipped := 0
	if sm != nil {
		skipped = sm.skipped
	}
	if len(a.sampled) >= maxSampled {
		a.forgetOldest(now)
	}
	a.sampled[k] = &sample{written: now}
	a.mu.Unlock()
	if skipped > 0 {
		e.Detail = fmt.Sprintf("%s (and %d more like it since the last entry)", e.Detail, skipped)
	}
	a.Write(ctx, e)
}

// forgetOldest drops the samples written longer ago than SampleEvery, or,
// when all are recent, half of them.
func (a *Auditor) forgetOldest(now time.Time) {
	for k, sm := range a.sampled {
		if now.Sub(sm.written) >= SampleEvery {
			delete(a.sampled, k)
		}
	}
	for k := range a.sampled {
		if len(a.sampled) < maxSampled/2 {
			return
		}
		delete(a.sampled, k)
	}
}

package storage

import (
	"context"
	"log/slog"
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
}

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
	return &Auditor{store: store, logger: logger, now: time.Now}
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

// Package resolvers implements the GraphQL schema. Resolvers stay thin:
// they read the tenant from the context, turn inputs into the storage query
// model (refusing bad input with a clear message), call the store, the
// pipeline or the tail, and shape the answer.
package resolvers

import (
	"context"
	"errors"
	"fmt"
	"github.com/inquest/inquest/agents/detection"
	"log/slog"
	"time"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/storage"
)

// Resolver holds what the resolvers need.
type Resolver struct {
	EventStore  storage.EventStore
	MetricStore storage.MetricStore
	// PromQL runs raw PromQL; nil unless VictoriaMetrics holds the metrics.
	PromQL          storage.PromQLQuerier
	DeadLetterStore storage.DeadLetterStore
	APIKeyStore     storage.APIKeyStore
	AuditStore      storage.AuditStore
	// IncidentStore reads anomalies and incidents; Detection changes
	// incidents and streams updates (nil where no detector runs, such as
	// a gateway of a scaled deployment).
	IncidentStore storage.IncidentStore
	RuleStore     storage.RuleStore
	Detection     *detection.Engine
	UsageMeter    interface {
		Usage(ctx context.Context, tenant string, r storage.TimeRange) ([]storage.UsageHour, error)
	}
	// OnRevoke is told the ID of a revoked API key, to drop it from caches.
	OnRevoke func(id string)
	Pipeline *ingest.Pipeline
	LiveTail ingest.Tail
	Logger   *slog.Logger
	// Now is the clock relative time ranges are read against.
	Now func() time.Time
	// MaxRange is the longest time range a query may cover; 0 is no limit.
	MaxRange time.Duration
}

// UserError is an error caused by the request; its message is shown to
// the client as is. Every other error is reported as an internal error
// without detail (see the server's error presenter).
type UserError struct{ Err error }

func (e *UserError) Error() string { return e.Err.Error() }

func (e *UserError) Unwrap() error { return e.Err }

func userErr(format string, args ...any) error {
	return &UserError{Err: fmt.Errorf(format, args...)}
}

func asUser(err error) error {
	if err == nil {
		return nil
	}
	return &UserError{Err: err}
}

// IsUserError reports whether err should be shown to the client.
func IsUserError(err error) bool {
	var ue *UserError
	return errors.As(err, &ue)
}

func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func tenant(ctx context.Context) (string, error) {
	t, ok := auth.TenantFrom(ctx)
	if !ok {
		return "", userErr("no tenant for this request")
	}
	return t, nil
}

// actor is who makes the request, for audit entries and timelines.
func actor(ctx context.Context) string {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return p.Subject
	}
	return "anonymous (authentication off)"
}

// Audit appends an entry to the tenant's audit log, with the caller as the
// actor. A failure to write it is logged: the action it records has
// already happened.
func (r *Resolver) Audit(ctx context.Context, action, target, outcome, detail string) {
	t, ok := auth.TenantFrom(ctx)
	if !ok || r.AuditStore == nil {
		return
	}
	e := storage.AuditEntry{Tenant: t, ID: storage.NewID(), TimeUnixNano: r.now().UnixNano(), Actor: actor(ctx),
		Action: action, Target: target, Outcome: outcome, Detail: detail}
	if err := r.AuditStore.AppendAudit(context.WithoutCancel(ctx), []storage.AuditEntry{e}); err != nil && r.Logger != nil {
		r.Logger.Error("audit log write failed", "action", action, "err", err)
	}
}

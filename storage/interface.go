// Package storage is what every backend implements: the store interfaces
// over the domain's records (events, metrics, incidents, investigations,
// proposals, settings), the errors a store returns, and the service map's
// minute and hour folding. Backends live below it (duckdb, clickhouse,
// victoriametrics, redisstore); nothing above this layer writes SQL.
package storage

import (
	"context"
	"errors"
	"time"

	"github.com/inquest/inquest/domain"
)

// ErrNotFound is returned when a single requested item does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict means a compare-and-set change lost: what it read has been
// changed since. Read again and decide again.
var ErrConflict = errors.New("changed by someone else meanwhile")

// ErrTooCostly is a query its store stopped for needing more than its
// limit (ClickHouse's max_memory_usage): the caller narrows it.
var ErrTooCostly = errors.New("the query needed more memory than one query may use")

// EventStore stores and queries the wide events table. Every method takes
// the tenant inside its arguments and never returns another tenant's rows;
// an empty tenant is an error, not a wildcard.
type EventStore interface {
	// WriteEvents stores a batch atomically: all rows or none.
	WriteEvents(ctx context.Context, events []domain.Event) error
	Aggregate(ctx context.Context, q domain.Query) (*domain.AggregateResult, error)
	Events(ctx context.Context, q domain.EventQuery) (*domain.EventPage, error)
	// Trace returns all spans of a trace ordered by start time, or
	// ErrNotFound.
	Trace(ctx context.Context, tenant, traceID string) ([]domain.Event, error)
	// Traces lists the traces with a span matching the query in its range,
	// newest first, each summed up from its spans in the range widened by
	// domain.TraceSlack.
	Traces(ctx context.Context, q domain.TraceQuery) ([]domain.TraceSummary, error)
	Services(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceSummary, error)
	ServiceMap(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceEdge, error)
	// BubbleUp counts every field value of a selection and its baseline,
	// grouped in the store (never by pulling events out); Rank orders them.
	BubbleUp(ctx context.Context, q domain.BubbleUpQuery) (*domain.BubbleUpCounts, error)
	// SpanStats gives each service's own figures in the range (see
	// SpanStats), computed in the store.
	SpanStats(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.SpanStats, error)
}

// MetricStore stores and queries metric samples.
type MetricStore interface {
	WriteSamples(ctx context.Context, samples []domain.Sample) error
	MetricSeries(ctx context.Context, q domain.MetricQuery) ([]domain.MetricSeries, error)
	// MetricNames lists metric names seen in the range, sorted.
	MetricNames(ctx context.Context, tenant string, r domain.TimeRange) ([]string, error)
}

// DeadLetterStore keeps what ingest refused.
type DeadLetterStore interface {
	PutDeadLetters(ctx context.Context, dls []domain.DeadLetter) error
	// DeadLetters lists the newest first; those replayed successfully only
	// with replayed (they are done with, but kept for the record).
	DeadLetters(ctx context.Context, tenant string, r domain.TimeRange, limit int, replayed bool) ([]domain.DeadLetter, error)
	DeadLetter(ctx context.Context, tenant, id string) (*domain.DeadLetter, error)
	MarkReplayed(ctx context.Context, tenant, id string, atNano int64) error
}

// Store is everything a backend offers; the embedded backend implements all
// of it, scaled deployments may mix backends per part.
type Store interface {
	EventStore
	MetricStore
	DeadLetterStore
	APIKeyStore
	UsageStore
	AuditStore
	IncidentStore
	RuleStore
	InvestigationStore
	ProposalStore
	Close() error
}

// APIKeyStore keeps API keys. Lookups by ID are not scoped by tenant (the
// key says which tenant it belongs to); listing and revoking are.
type APIKeyStore interface {
	PutAPIKey(ctx context.Context, k domain.APIKey) error
	// APIKey returns the key with this ID, revoked or not, or ErrNotFound.
	APIKey(ctx context.Context, id string) (*domain.APIKey, error)
	APIKeys(ctx context.Context, tenant string) ([]domain.APIKey, error)
	RevokeAPIKey(ctx context.Context, tenant, id string, atNano int64) error
	TouchAPIKey(ctx context.Context, id string, atNano int64) error
}

// UsageStore keeps per-tenant hourly usage.
type UsageStore interface {
	// AddUsage adds the counts to the stored hours (creating them).
	AddUsage(ctx context.Context, hours []domain.UsageHour) error
	// Usage lists a tenant's hours in the range, oldest first.
	Usage(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.UsageHour, error)
}

// AuditStore keeps the audit log. It is append-only: there is no way to
// change or remove an entry through it.
type AuditStore interface {
	AppendAudit(ctx context.Context, entries []domain.AuditEntry) error
	// AuditLog lists a tenant's entries in the range, newest first.
	AuditLog(ctx context.Context, tenant string, r domain.TimeRange, limit int) ([]domain.AuditEntry, error)
}

// Retention is how long records are kept after they were taken in: a
// default, and exceptions by tenant (0 keeps a tenant's records forever).
type Retention struct {
	Default time.Duration
	Tenants map[string]time.Duration
}

// Pruner deletes what its retention has passed: events and metric samples
// by the time they were taken in (so imported history is kept for the
// retention after its import), dead letters, audit entries and usage by
// their own time. It returns the rows deleted.
type Pruner interface {
	Prune(ctx context.Context, r Retention, now time.Time) (int64, error)
}

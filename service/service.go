// Package service is the guarded API under every face: GraphQL resolvers,
// MCP tools, the ask box and Slack actions call it, and nothing else. Each
// operation takes a verified Principal and typed input and returns domain
// types; the service owns the tenant scope, the role each operation needs
// (one table, roles.go), maximum ranges and page sizes, the audit entries
// of changes and refusals, and typed errors (errors.go) that each face maps
// to its own codes once.
package service

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/updates"
)

// Usage reads metered usage.
type Usage interface {
	Usage(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.UsageHour, error)
}

// Deps are the components the service reads and changes.
type Deps struct {
	Events  storage.EventStore
	Metrics storage.MetricStore
	// PromQL runs raw PromQL; nil unless VictoriaMetrics holds the metrics.
	PromQL      storage.PromQLQuerier
	DeadLetters storage.DeadLetterStore
	APIKeys     storage.APIKeyStore
	Audit       storage.AuditStore
	Incidents   storage.IncidentStore
	Rules       storage.RuleStore
	// Detection changes rules; nil where no detector runs (a gateway of a
	// scaled deployment).
	Detection RuleEngine
	// Lifecycle makes people's changes to incidents, in any process.
	Lifecycle IncidentLifecycle
	// Updates streams anomalies and incident changes to subscribers.
	Updates *updates.Broker
	// Investigations keeps investigations; Investigator runs them (nil:
	// this process starts none).
	Investigations storage.InvestigationStore
	Investigator   InvestigationRunner
	// Proposals keeps remediation proposals; Remediation runs their
	// approval flow (nil: this process has none).
	Proposals   storage.ProposalStore
	Remediation ApprovalFlow
	Usage       Usage
	Pipeline    Intake
	// PipelineStatus reads the ingest path's counters (the pipeline page).
	PipelineStatus func() PipelineStatus
	Tail           ingest.Tail
	// OnRevoke is told the ID of a revoked API key, to drop it from caches.
	OnRevoke func(id string)
}

// Config bounds what one request may ask for.
type Config struct {
	// MaxRange is the longest time range a query may cover; 0 is no limit.
	MaxRange time.Duration
	// Now is the clock relative ranges are read against (time.Now if nil).
	Now func() time.Time
	// MaxStreams bounds the subscriptions a tenant holds open at once; 0
	// is no limit.
	MaxStreams int
	// Pressed reports the process near its memory limit: queries that scan
	// are refused meanwhile (nil: never).
	Pressed func() bool
	// MaxScans bounds the queries that read many rows a tenant runs at
	// once (0: no bound); ScanWait is how long one more waits for a slot
	// before it is refused (10 s when 0).
	MaxScans int
	ScanWait time.Duration
}

// Service implements every operation. It is safe for concurrent use.
type Service struct {
	cfg     Config
	d       Deps
	logger  *slog.Logger
	auditor *storage.Auditor
	asker   Asker

	mu      sync.Mutex
	streams map[string]int           // open subscriptions by tenant
	running map[string]chan struct{} // query slots by tenant
}

// New builds the service over its dependencies; a nil logger discards.
func New(cfg Config, d Deps, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ScanWait <= 0 {
		cfg.ScanWait = 10 * time.Second
	}
	return &Service{cfg: cfg, d: d, logger: logger, auditor: storage.NewAuditor(d.Audit, logger), streams: map[string]int{}, running: map[string]chan struct{}{}}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.cfg.Now() }

// Range is a time range as people write it: RFC3339 timestamps or
// relative expressions such as now-15m.
type Range struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// rangeSlack is how far past MaxRange a range may reach: a face reads each
// end of "now-31d" to "now" against its own now (GraphQL's Time scalar
// parses each field as it comes), so the two ends of a range exactly at
// the limit lie a few hundred nanoseconds further apart.
const rangeSlack = time.Second

// timeRange reads a range against the clock and the range limit.
func (s *Service) timeRange(r *Range) (domain.TimeRange, error) {
	if r == nil {
		return domain.TimeRange{}, Invalid("range is required")
	}
	tr, err := domain.ParseTimeRange(r.From, r.To, s.cfg.Now())
	if err != nil {
		return tr, Invalid("range: %v", err)
	}
	if s.cfg.MaxRange > 0 && tr.End-tr.Start > int64(s.cfg.MaxRange+rangeSlack) {
		return tr, Invalid("range: %s is longer than the limit of %s", time.Duration(tr.End-tr.Start), s.cfg.MaxRange)
	}
	return tr, nil
}

// pageSize reads an optional page size: def when absent, an error naming
// the argument outside 1..MaxPageSize.
func pageSize(arg string, v *int, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v <= 0 || *v > domain.MaxPageSize {
		return 0, Invalid("%s must be between 1 and %d", arg, domain.MaxPageSize)
	}
	return *v, nil
}

// audit appends an entry to the principal's tenant's audit log. A failure
// to write it is logged: the action it records has already happened.
func (s *Service) audit(ctx context.Context, p Principal, action, target, outcome, detail string) {
	s.auditor.Write(ctx, domain.AuditEntry{Tenant: p.Tenant, TimeUnixNano: s.cfg.Now().UnixNano(), Actor: p.Subject,
		Action: action, Target: target, Outcome: outcome, Detail: detail})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

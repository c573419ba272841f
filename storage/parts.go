package storage

import (
	"context"
	"errors"
	"io"
)

// Parts is a Store assembled from backends that each hold a part: events
// in ClickHouse and metrics in VictoriaMetrics, say, with the rest
// embedded. Close closes every backend once.
type Parts struct {
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
	Closers []io.Closer
}

var _ Store = (*Parts)(nil)

// Close closes the backends in reverse order of opening.
func (p *Parts) Close() error {
	var errs []error
	for i := len(p.Closers) - 1; i >= 0; i-- {
		errs = append(errs, p.Closers[i].Close())
	}
	return errors.Join(errs...)
}

// Pinger is a backend that can tell whether it is reachable, for readiness
// checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

package storage

import (
	"context"
	"time"

	"github.com/inquest/inquest/domain"
)

// IncidentStore keeps anomalies and incidents. Puts replace the record
// with the same tenant and ID.
type IncidentStore interface {
	PutAnomalies(ctx context.Context, as []domain.Anomaly) error
	// Anomalies lists those overlapping the range, newest first; service
	// narrows them when set.
	Anomalies(ctx context.Context, tenant string, r domain.TimeRange, service string, limit int) ([]domain.Anomaly, error)
	// Anomaly returns one anomaly or ErrNotFound.
	Anomaly(ctx context.Context, tenant, id string) (*domain.Anomaly, error)
	// PutIncident stores an incident as it is, version included (imports,
	// tests); changes go through UpdateIncident.
	PutIncident(ctx context.Context, in domain.Incident) error
	// UpdateIncident stores in if the stored incident's version is
	// version (0: there is none yet), with in.Version set to version+1;
	// otherwise it returns ErrConflict and changes nothing.
	UpdateIncident(ctx context.Context, in domain.Incident, version int64) error
	// OpenIncidents lists every tenant's incidents that are not resolved,
	// for the detector starting up (never from a request).
	OpenIncidents(ctx context.Context) ([]domain.Incident, error)
	// Incidents lists those open at some time in the range, newest first;
	// status narrows them when set.
	Incidents(ctx context.Context, tenant string, r domain.TimeRange, status string) ([]domain.Incident, error)
	// Incident returns one incident or ErrNotFound.
	Incident(ctx context.Context, tenant, id string) (*domain.Incident, error)
}

// RuleStore keeps the rules.
type RuleStore interface {
	PutRule(ctx context.Context, r domain.Rule) error
	// Rules lists a tenant's rules, or every tenant's with tenant "*"
	// (for the detector starting up; never from a request).
	Rules(ctx context.Context, tenant string) ([]domain.Rule, error)
	DeleteRule(ctx context.Context, tenant, id string) error
}

// InvestigationStore keeps investigations.
type InvestigationStore interface {
	// CreateInvestigation stores a new investigation unless one with its
	// tenant and ID exists already (then it returns false): a run started
	// twice for one incident on two processes is made once.
	CreateInvestigation(ctx context.Context, inv domain.Investigation) (bool, error)
	// PutInvestigation replaces a stored investigation.
	PutInvestigation(ctx context.Context, inv domain.Investigation) error
	// Investigation returns one or ErrNotFound.
	Investigation(ctx context.Context, tenant, id string) (*domain.Investigation, error)
	// Investigations lists those started in the range, newest first;
	// incidentID narrows them when set.
	Investigations(ctx context.Context, tenant string, r domain.TimeRange, incidentID string, limit int) ([]domain.Investigation, error)
	// RunningInvestigations lists every tenant's running investigations,
	// for a process starting up (never from a request).
	RunningInvestigations(ctx context.Context) ([]domain.Investigation, error)
}

// ProposalStore keeps proposals.
type ProposalStore interface {
	// CreateProposal stores a new proposal unless its ID is taken (false).
	CreateProposal(ctx context.Context, p domain.Proposal) (bool, error)
	// UpdateProposal stores p if the stored version is version, with
	// p.Version set to version+1; otherwise ErrConflict.
	UpdateProposal(ctx context.Context, p domain.Proposal, version int64) error
	// Proposal returns one or ErrNotFound.
	Proposal(ctx context.Context, tenant, id string) (*domain.Proposal, error)
	// Proposals lists those proposed in the range, newest first; incident
	// or investigation narrow them when set.
	Proposals(ctx context.Context, tenant string, r domain.TimeRange, incidentID, investigationID string, limit int) ([]domain.Proposal, error)
	// OpenProposals lists every tenant's pending, approved and executing
	// proposals, for the sweeps of a process (never from a request).
	OpenProposals(ctx context.Context) ([]domain.Proposal, error)
}

// PromQLQuerier runs raw PromQL/MetricsQL over one tenant's series. Only
// the VictoriaMetrics metric store has it.
type PromQLQuerier interface {
	PromQL(ctx context.Context, tenant, expr string, r domain.TimeRange, step time.Duration) ([]domain.MetricSeries, error)
}

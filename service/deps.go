package service

import (
	"context"

	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
)

// What the service needs of the engines below it, declared here where it
// is used: the composition root hands it the real ones, a test hands it
// fakes.

// RuleEngine changes the rules a detector watches (detection.Engine).
type RuleEngine interface {
	AddRule(ctx context.Context, r domain.Rule) (*domain.Rule, error)
	DeleteRule(ctx context.Context, tenant, id string) error
}

// IncidentLifecycle makes people's changes to incidents
// (incidents.Lifecycle).
type IncidentLifecycle interface {
	Acknowledge(ctx context.Context, tenant, id, actor string) (*domain.Incident, error)
	Resolve(ctx context.Context, tenant, id, actor string) (*domain.Incident, error)
	Reopen(ctx context.Context, tenant, id, actor string) (*domain.Incident, error)
	AcceptNewNormal(ctx context.Context, tenant, id, actor string) (*domain.Incident, error)
	Merge(ctx context.Context, tenant, into string, others []string, actor string) (*domain.Incident, error)
}

// InvestigationRunner starts investigations (investigate.Runner).
type InvestigationRunner interface {
	New(tenant, trigger string, scope domain.InvestigationScope) domain.Investigation
	Submit(ctx context.Context, inv domain.Investigation) (*domain.Investigation, error)
}

// ApprovalFlow decides and carries out proposals, and keeps the approval
// policy and runbooks (remediate.Flow).
type ApprovalFlow interface {
	Approve(ctx context.Context, tenant, id string, a remediate.Actor, comment string, mods map[string]string) (*domain.Proposal, error)
	Decide(ctx context.Context, tenant, id string, a remediate.Actor, comment string, mods map[string]string) (*domain.Proposal, error)
	Reject(ctx context.Context, tenant, id string, a remediate.Actor, reason string) (*domain.Proposal, error)
	Execute(ctx context.Context, tenant, id string, a remediate.Actor) (*domain.Proposal, error)
	Rollback(ctx context.Context, tenant, id string, a remediate.Actor) (*domain.Proposal, error)
	Rules(ctx context.Context, tenant string) (remediate.Rules, error)
	SetPolicy(ctx context.Context, tenant string, spec remediate.PolicySpec) (remediate.Rules, error)
	PutRunbook(ctx context.Context, tenant string, rb remediate.Runbook) error
	DeleteRunbook(ctx context.Context, tenant, name string) (bool, error)
}

// Intake takes records in the way every receiver does, and replays dead
// letters (ingest.Pipeline).
type Intake interface {
	Accept(ctx context.Context, in ingest.Input) (*ingest.Result, error)
	Replay(ctx context.Context, tenant, id string) (*ingest.Result, error)
}

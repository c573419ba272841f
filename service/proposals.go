package service

import (
	"context"
	"errors"

	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/updates"
)

// Proposals lists the tenant's remediation proposals made in the range,
// newest first, optionally of one incident or investigation.
func (s *Service) Proposals(ctx context.Context, p Principal, r Range, incidentID, investigationID string) ([]domain.Proposal, error) {
	if err := s.allow(ctx, p, "proposals"); err != nil {
		return nil, err
	}
	if s.d.Proposals == nil {
		return nil, Unavailable("this process keeps no proposals")
	}
	tr, err := s.timeRange(&r)
	if err != nil {
		return nil, err
	}
	return s.d.Proposals.Proposals(ctx, p.Tenant, tr, incidentID, investigationID, domain.MaxPageSize)
}

// LinkedProposals are an incident's or an investigation's proposals, read
// as a field of one the caller may already see.
func (s *Service) LinkedProposals(ctx context.Context, p Principal, incidentID, investigationID string) ([]domain.Proposal, error) {
	if s.d.Proposals == nil {
		return []domain.Proposal{}, nil
	}
	if err := s.allow(ctx, p, "proposals"); err != nil {
		return nil, err
	}
	return s.d.Proposals.Proposals(ctx, p.Tenant, domain.TimeRange{Start: 0, End: 1<<63 - 1}, incidentID, investigationID, domain.MaxPageSize)
}

// Proposal returns one proposal of the tenant.
func (s *Service) Proposal(ctx context.Context, p Principal, id string) (*domain.Proposal, error) {
	if err := s.allow(ctx, p, "proposal"); err != nil {
		return nil, err
	}
	if s.d.Proposals == nil {
		return nil, Unavailable("this process keeps no proposals")
	}
	pr, err := s.d.Proposals.Proposal(ctx, p.Tenant, id)
	return pr, fromStore(err, named("proposal", id))
}

// actor is the principal as the approval flow judges it, for the face it
// came through.
func actor(p Principal, channel string) remediate.Actor {
	a := remediate.Actor{Subject: p.Subject, Channel: channel, Levels: p.Levels(), Roles: p.Roles, Responder: p.Anonymous || p.Has(auth.RoleResponder)}
	if p.Anonymous {
		a.Levels = auth.ApproverLevels // development mode: every role
	}
	return a
}

// decide runs one decision of the approval flow and audits it, refusals
// included, with the face it came through.
func (s *Service) decide(ctx context.Context, p Principal, op, action, id, channel string,
	fn func(f ApprovalFlow, a remediate.Actor) (*domain.Proposal, error)) (*domain.Proposal, error) {
	if err := s.allow(ctx, p, op); err != nil {
		return nil, err
	}
	if s.d.Remediation == nil {
		return nil, Unavailable("this process runs no approval flow")
	}
	pr, err := fn(s.d.Remediation, actor(p, channel))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, fromStore(err, named("proposal", id))
	case errors.Is(err, remediate.ErrForbidden):
		s.audit(ctx, p, "proposal."+action, id, "refused", channel+": "+err.Error())
		return nil, Forbidden("%v", err)
	case errors.Is(err, remediate.ErrTransition), errors.Is(err, storage.ErrConflict):
		s.audit(ctx, p, "proposal."+action, id, "refused", channel+": "+err.Error())
		return nil, Conflict("%v", err)
	case err != nil:
		return nil, err
	}
	return pr, nil
}

// ApproveProposal records the principal's approval; once the proposal's
// tier has its approvers it is executed. channel is the face (graphql,
// slack, mcp).
func (s *Service) ApproveProposal(ctx context.Context, p Principal, channel, id, comment string, mods map[string]string) (*domain.Proposal, error) {
	return s.decide(ctx, p, "approveProposal", "approve", id, channel, func(f ApprovalFlow, a remediate.Actor) (*domain.Proposal, error) {
		return f.Approve(ctx, p.Tenant, id, a, comment, mods)
	})
}

// DecideApproval records the principal's approval as ApproveProposal does,
// but does not execute: a proposal it approves stays approved until
// ExecuteProposal starts it. For faces that must answer at once (Slack's
// three seconds) and run the execution after answering.
func (s *Service) DecideApproval(ctx context.Context, p Principal, channel, id, comment string, mods map[string]string) (*domain.Proposal, error) {
	return s.decide(ctx, p, "approveProposal", "approve", id, channel, func(f ApprovalFlow, a remediate.Actor) (*domain.Proposal, error) {
		return f.Decide(ctx, p.Tenant, id, a, comment, mods)
	})
}

// RejectProposal turns a pending proposal down.
func (s *Service) RejectProposal(ctx context.Context, p Principal, channel, id, reason string) (*domain.Proposal, error) {
	if reason == "" {
		if err := s.allow(ctx, p, "rejectProposal"); err != nil {
			return nil, err
		}
		return nil, Invalid("say why the proposal is rejected")
	}
	return s.decide(ctx, p, "rejectProposal", "reject", id, channel, func(f ApprovalFlow, a remediate.Actor) (*domain.Proposal, error) {
		return f.Reject(ctx, p.Tenant, id, a, reason)
	})
}

// ExecuteProposal starts an approved proposal that has not started.
func (s *Service) ExecuteProposal(ctx context.Context, p Principal, channel, id string) (*domain.Proposal, error) {
	return s.decide(ctx, p, "executeProposal", "execute", id, channel, func(f ApprovalFlow, a remediate.Actor) (*domain.Proposal, error) {
		return f.Execute(ctx, p.Tenant, id, a)
	})
}

// RollbackProposal undoes a proposal that ran.
func (s *Service) RollbackProposal(ctx context.Context, p Principal, channel, id string) (*domain.Proposal, error) {
	return s.decide(ctx, p, "rollbackProposal", "rollback", id, channel, func(f ApprovalFlow, a remediate.Actor) (*domain.Proposal, error) {
		return f.Rollback(ctx, p.Tenant, id, a)
	})
}

// ProposalUpdated streams the tenant's proposals as they change.
func (s *Service) ProposalUpdated(ctx context.Context, p Principal) (<-chan domain.Proposal, error) {
	if err := s.allow(ctx, p, "proposalUpdated"); err != nil {
		return nil, err
	}
	return relay(ctx, s, p, func(u updates.Update) *domain.Proposal { return u.Proposal })
}

// RecordRefusal audits a request a face refused before it knew who sent
// it (a bad Slack signature, a replay, an unknown user).
func (s *Service) RecordRefusal(ctx context.Context, tenant, actor, action, detail string) {
	// Nobody verified who sent it: sampled, so that a flood of forged
	// requests costs the tenant's log a row a minute per reason.
	s.auditor.WriteSampled(ctx, domain.AuditEntry{Tenant: tenant, TimeUnixNano: s.cfg.Now().UnixNano(), Actor: actor,
		Action: action, Outcome: "refused", Detail: detail}, actor+"\x00"+detail)
}

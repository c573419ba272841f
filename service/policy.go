package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/domain"
)

// The approval policy as faces see it. The remediation engine owns these
// types; they are named here so that a face imports the service and the
// domain, never the engine below them.
type (
	// ApprovalRules is the tenant's policy and runbooks as they apply now.
	ApprovalRules = remediate.Rules
	// Policy is each risk tier's approvers, timeout and escalation.
	Policy = remediate.Policy
	// PolicySpec is a change to the tiers and the role levels.
	PolicySpec = remediate.PolicySpec
	// TierSpec is one tier's part of a PolicySpec.
	TierSpec = remediate.TierSpec
	// Runbook is a tenant's own remediation for a cause.
	Runbook = remediate.Runbook
)

// ProposalParams is what a proposal's executor will be given.
func ProposalParams(p domain.Proposal) map[string]string { return remediate.Params(p) }

// ApprovalRules is the tenant's approval policy and runbooks as they
// apply now.
func (s *Service) ApprovalRules(ctx context.Context, p Principal, op string) (remediate.Rules, error) {
	if err := s.allow(ctx, p, op); err != nil {
		return remediate.Rules{}, err
	}
	if s.d.Remediation == nil {
		return remediate.Rules{}, Unavailable("this process runs no approval flow")
	}
	return s.d.Remediation.Rules(ctx, p.Tenant)
}

// SetApprovalPolicy changes the tenant's tiers and role levels (audited,
// refusals included).
func (s *Service) SetApprovalPolicy(ctx context.Context, p Principal, spec remediate.PolicySpec) (remediate.Rules, error) {
	if err := s.allow(ctx, p, "setApprovalPolicy"); err != nil {
		return remediate.Rules{}, err
	}
	if s.d.Remediation == nil {
		return remediate.Rules{}, Unavailable("this process runs no approval flow")
	}
	rules, err := s.d.Remediation.SetPolicy(ctx, p.Tenant, spec)
	if errors.Is(err, remediate.ErrInvalid) {
		s.audit(ctx, p, "policy.set", "approval-policy", "refused", err.Error())
		return rules, Invalid("%v", err)
	}
	if err != nil {
		return rules, err
	}
	s.audit(ctx, p, "policy.set", "approval-policy", "ok", fmt.Sprintf("tiers %v levels %v", spec.Tiers, spec.Levels))
	return rules, nil
}

// PutRunbook adds or replaces one of the tenant's runbooks (audited).
func (s *Service) PutRunbook(ctx context.Context, p Principal, rb remediate.Runbook) error {
	if err := s.allow(ctx, p, "putRunbook"); err != nil {
		return err
	}
	if s.d.Remediation == nil {
		return Unavailable("this process runs no approval flow")
	}
	err := s.d.Remediation.PutRunbook(ctx, p.Tenant, rb)
	if errors.Is(err, remediate.ErrInvalid) {
		s.audit(ctx, p, "runbook.put", rb.Name, "refused", err.Error())
		return Invalid("%v", err)
	}
	if err != nil {
		return err
	}
	s.audit(ctx, p, "runbook.put", rb.Name, "ok", fmt.Sprintf("%s (%s risk)", rb.Action, rb.Risk))
	return nil
}

// DeleteRunbook removes one of the tenant's runbooks (audited).
func (s *Service) DeleteRunbook(ctx context.Context, p Principal, name string) (bool, error) {
	if err := s.allow(ctx, p, "deleteRunbook"); err != nil {
		return false, err
	}
	if s.d.Remediation == nil {
		return false, Unavailable("this process runs no approval flow")
	}
	ok, err := s.d.Remediation.DeleteRunbook(ctx, p.Tenant, name)
	if err == nil && ok {
		s.audit(ctx, p, "runbook.delete", name, "ok", "")
	}
	return ok, err
}

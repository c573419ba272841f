package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// proposal stores a pending proposal of t1 at risk, proposed by by.
func (r *rig) proposal(id, risk, by string) {
	r.t.Helper()
	at := r.now.Add(-time.Minute).UnixNano()
	ok, err := r.store.CreateProposal(r.ctx, domain.Proposal{Tenant: "t1", ID: id, IncidentID: "i1", Action: "rollback", Target: "payment",
		Params: map[string]string{"version": "2.3.0"}, Risk: risk, Status: domain.ProposalPending, ProposedBy: by, ProposedNano: at,
		UpdatedNano: at, ExpiresNano: r.now.Add(time.Hour).UnixNano(), History: []domain.ProposalEvent{{Kind: domain.ProposalProposed, AtNano: at, Actor: by}}})
	require.NoError(r.t, err)
	require.True(r.t, ok)
}

// TestApprovalIsGuarded: the service's role comes first, then the policy's
// seats; the proposer may not approve their own; refusals are audited; an
// approval the policy fills executes (dry run here).
func TestApprovalIsGuarded(t *testing.T) {
	r := newRig(t)
	r.proposal("p1", domain.RiskLow, "user:ann")

	_, err := r.svc.ApproveProposal(r.ctx, as("val", auth.RoleViewer), "graphql", "p1", "", nil)
	require.ErrorIs(t, err, service.ErrForbidden)

	_, err = r.svc.ApproveProposal(r.ctx, as("user:ann", auth.RoleResponder), "graphql", "p1", "", nil)
	require.ErrorIs(t, err, service.ErrForbidden, "whoever proposed it may not approve it")

	p, err := r.svc.ApproveProposal(r.ctx, as("bob", auth.RoleResponder), "graphql", "p1", "looks right", nil)
	require.NoError(t, err)
	assert.Contains(t, []string{domain.ProposalExecuting, domain.ProposalSucceeded}, p.Status, "a low-risk proposal needs one responder")

	_, err = r.svc.RejectProposal(r.ctx, as("cy", auth.RoleResponder), "graphql", "p1", "too late")
	require.ErrorIs(t, err, service.ErrConflict, "decided already")

	_, err = r.svc.ApproveProposal(r.ctx, as("bob", auth.RoleResponder), "graphql", "nope", "", nil)
	require.ErrorIs(t, err, service.ErrNotFound)
	assert.Equal(t, `proposal "nope" not found`, err.Error())

	audit := r.audit()
	assert.Contains(t, audit, "access.denied approveProposal denied")
	assert.Contains(t, audit, "proposal.approve p1 refused", "the policy's refusal is audited")
	assert.Contains(t, audit, "proposal.approved p1 ok", "the flow audits its transitions through the same writer")
}

// TestDecideLeavesExecutionToTheCaller: the Slack face decides within its
// three seconds and executes after.
func TestDecideLeavesExecutionToTheCaller(t *testing.T) {
	r := newRig(t)
	r.proposal("p1", domain.RiskLow, "inquest")
	p, err := r.svc.DecideApproval(r.ctx, as("bob", auth.RoleResponder), "slack", "p1", "", nil)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalApproved, p.Status)
	p, err = r.svc.ExecuteProposal(r.ctx, as("bob", auth.RoleResponder), "slack", "p1")
	require.NoError(t, err)
	assert.NotEqual(t, domain.ProposalApproved, p.Status)
}

func TestRejectAndRead(t *testing.T) {
	r := newRig(t)
	r.proposal("p1", domain.RiskMedium, "inquest")
	r.proposal("p2", domain.RiskLow, "inquest")
	p, err := r.svc.RejectProposal(r.ctx, as("bob", auth.RoleResponder), "graphql", "p1", "not this one")
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalRejected, p.Status)

	got, err := r.svc.Proposal(r.ctx, as("val", auth.RoleViewer), "p1")
	require.NoError(t, err)
	assert.Equal(t, "not this one", got.Rejection.Comment)
	_, err = r.svc.Proposal(r.ctx, of("t2", auth.RoleAdmin), "p1")
	require.ErrorIs(t, err, service.ErrNotFound, "another tenant's")

	list, err := r.svc.Proposals(r.ctx, as("val", auth.RoleViewer), lastHour, "i1", "")
	require.NoError(t, err)
	assert.Len(t, list, 2)
	linked, err := r.svc.LinkedProposals(r.ctx, as("val", auth.RoleViewer), "i1", "")
	require.NoError(t, err)
	assert.Len(t, linked, 2)
}

// TestApprovalPolicyIsForAdmins: changing who approves what is an admin's;
// a bad policy is invalid input, audited as refused.
func TestApprovalPolicyIsForAdmins(t *testing.T) {
	r := newRig(t)
	rules, err := r.svc.ApprovalRules(r.ctx, as("val", auth.RoleViewer), "approvalPolicy")
	require.NoError(t, err)
	assert.Contains(t, rules.Policy, domain.RiskHigh)

	spec := service.PolicySpec{Tiers: map[string]service.TierSpec{domain.RiskLow: {Approvers: []string{"sre"}, Timeout: "20m"}}}
	_, err = r.svc.SetApprovalPolicy(r.ctx, as("ann", auth.RoleResponder), spec)
	require.ErrorIs(t, err, service.ErrForbidden)
	_, err = r.svc.SetApprovalPolicy(r.ctx, as("root", auth.RoleAdmin),
		service.PolicySpec{Tiers: map[string]service.TierSpec{"catastrophic": {Approvers: []string{"sre"}}}})
	require.ErrorIs(t, err, service.ErrInvalid)
	_, err = r.svc.SetApprovalPolicy(r.ctx, as("root", auth.RoleAdmin), spec)
	require.NoError(t, err)
	assert.Contains(t, r.audit(), "policy.set approval-policy refused")
	assert.Contains(t, r.audit(), "policy.set approval-policy ok")

	err = r.svc.PutRunbook(r.ctx, as("root", auth.RoleAdmin), service.Runbook{Name: "", Action: "restart"})
	require.ErrorIs(t, err, service.ErrInvalid)
}

// TestWithoutARemediationFlow: a process without one says so.
func TestWithoutARemediationFlow(t *testing.T) {
	svc := service.New(service.Config{}, service.Deps{}, nil)
	_, err := svc.ApprovalRules(context.Background(), as("val", auth.RoleViewer), "approvalPolicy")
	require.ErrorIs(t, err, service.ErrUnavailable)
	_, err = svc.Proposal(context.Background(), as("val", auth.RoleViewer), "p1")
	require.ErrorIs(t, err, service.ErrUnavailable)
	_, err = svc.Investigation(context.Background(), as("val", auth.RoleViewer), "v1")
	require.ErrorIs(t, err, service.ErrUnavailable)
}

// TestRunbooks: an admin's runbook is the tenant's own, read back by
// anyone of the tenant, used for the cause it matches, and deleted once.
func TestRunbooks(t *testing.T) {
	r := newRig(t)
	admin := as("root", auth.RoleAdmin)
	rb := service.Runbook{Name: "restart-payment", Action: "restart", Risk: domain.RiskLow}
	rb.Match.Service, rb.Match.Cause = "payment", domain.CauseResourceSaturation
	require.ErrorIs(t, r.svc.PutRunbook(r.ctx, as("ann", auth.RoleResponder), rb), service.ErrForbidden)
	require.NoError(t, r.svc.PutRunbook(r.ctx, admin, rb))

	rules, err := r.svc.ApprovalRules(r.ctx, as("val", auth.RoleViewer), "runbooks")
	require.NoError(t, err)
	require.NotNil(t, rules.Runbooks.Named("restart-payment"))
	theirs, err := r.svc.ApprovalRules(r.ctx, of("t2", auth.RoleViewer), "runbooks")
	require.NoError(t, err)
	assert.Nil(t, theirs.Runbooks.Named("restart-payment"), "another tenant's runbooks are not there")

	ok, err := r.svc.DeleteRunbook(r.ctx, admin, "restart-payment")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = r.svc.DeleteRunbook(r.ctx, admin, "restart-payment")
	require.NoError(t, err)
	assert.False(t, ok, "deleted once")
	audit := r.audit()
	assert.Contains(t, audit, "runbook.put restart-payment ok")
	assert.Contains(t, audit, "runbook.delete restart-payment ok")
	assert.Contains(t, audit, "access.denied putRunbook denied")
}

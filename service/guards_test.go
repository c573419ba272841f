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
	"github.com/inquest/inquest/storage/updates"
)

// TestMissingPartsSayWhatIsMissing: an operation whose part this process
// does not run is unavailable, with the reason, never a nil dereference.
func TestMissingPartsSayWhatIsMissing(t *testing.T) {
	svc := service.New(service.Config{}, service.Deps{}, nil)
	ctx := context.Background()
	_, err := svc.Usage(ctx, as("root", auth.RoleAdmin), lastHour)
	require.ErrorIs(t, err, service.ErrUnavailable)
	assert.Contains(t, err.Error(), "meters no usage")
	_, err = svc.Tail(ctx, as("val", auth.RoleViewer), nil)
	require.ErrorIs(t, err, service.ErrUnavailable)
	assert.Contains(t, err.Error(), "no live tail")
	_, err = svc.IncidentUpdated(ctx, as("val", auth.RoleViewer))
	require.ErrorIs(t, err, service.ErrUnavailable)
	_, err = svc.ProposalUpdated(ctx, as("val", auth.RoleViewer))
	require.ErrorIs(t, err, service.ErrUnavailable)
	_, err = svc.StartInvestigation(ctx, as("ann", auth.RoleResponder), service.InvestigationInput{})
	require.ErrorIs(t, err, service.ErrUnavailable)
	_, err = svc.AcknowledgeIncident(ctx, as("ann", auth.RoleResponder), "i1")
	require.ErrorIs(t, err, service.ErrUnavailable)
	_, err = svc.ApproveProposal(ctx, as("ann", auth.RoleResponder), "graphql", "p1", "", nil)
	require.ErrorIs(t, err, service.ErrUnavailable)
}

// TestNearTheMemoryLimit: queries that scan are refused while the process
// is pressed; cheap reads and changes are not.
func TestNearTheMemoryLimit(t *testing.T) {
	r := newRig(t)
	r.incident("i1", "payment")
	pressed := true
	r.svc = service.New(service.Config{Now: func() time.Time { return r.now }, Pressed: func() bool { return pressed }},
		service.Deps{Events: r.store, Incidents: r.store, Audit: r.store}, nil)
	viewer := as("val", auth.RoleViewer)
	_, err := r.svc.Events(r.ctx, viewer, service.EventsInput{Range: lastHour})
	require.ErrorIs(t, err, service.ErrUnavailable)
	assert.Contains(t, err.Error(), "near its memory limit")
	_, err = r.svc.Incident(r.ctx, viewer, "i1")
	require.NoError(t, err, "reading one incident scans nothing")
	pressed = false
	_, err = r.svc.Events(r.ctx, viewer, service.EventsInput{Range: lastHour})
	require.NoError(t, err)
}

// TestProposalUpdatesAreTheTenants: a subscriber hears its tenant's
// proposals only.
func TestProposalUpdatesAreTheTenants(t *testing.T) {
	broker := updates.NewBroker(nil)
	svc := service.New(service.Config{}, service.Deps{Updates: broker}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := svc.ProposalUpdated(ctx, as("val", auth.RoleViewer))
	require.NoError(t, err)
	broker.Publish(updates.Update{Proposal: &domain.Proposal{Tenant: "t2", ID: "theirs"}})
	broker.Publish(updates.Update{Incident: &domain.Incident{Tenant: "t1", ID: "not a proposal"}})
	broker.Publish(updates.Update{Proposal: &domain.Proposal{Tenant: "t1", ID: "ours"}})
	select {
	case p := <-ch:
		assert.Equal(t, "ours", p.ID)
	case <-time.After(10 * time.Second):
		t.Fatal("no update")
	}
	_, err = svc.ProposalUpdated(ctx, as("nobody", auth.RoleIngest))
	require.ErrorIs(t, err, service.ErrForbidden, "an ingest key reads nothing")
}

// TestRefusalsBeforeAPrincipal: a face that refuses a request before it
// knows who sent it (a bad Slack signature) still leaves a trace.
func TestRefusalsBeforeAPrincipal(t *testing.T) {
	r := newRig(t)
	r.svc.RecordRefusal(r.ctx, "t1", "slack:U123", "slack.interaction", "bad signature")
	r.svc.RecordRefusal(r.ctx, "", "slack:U123", "slack.interaction", "no tenant: not written")
	assert.Equal(t, []string{"slack.interaction  refused"}, r.audit())
}

// TestExecutionFollowsTheFlow: a pending proposal cannot be executed, an
// executed one can be rolled back, each step audited.
func TestExecutionFollowsTheFlow(t *testing.T) {
	r := newRig(t)
	r.proposal("p1", domain.RiskLow, "inquest")
	responder := as("bob", auth.RoleResponder)
	_, err := r.svc.ExecuteProposal(r.ctx, responder, "graphql", "p1")
	require.ErrorIs(t, err, service.ErrConflict, "not approved yet")

	p, err := r.svc.ApproveProposal(r.ctx, responder, "graphql", "p1", "", nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := r.svc.Proposal(r.ctx, responder, "p1")
		return err == nil && got.Status != domain.ProposalExecuting
	}, 10*time.Second, 10*time.Millisecond)
	p, err = r.svc.Proposal(r.ctx, responder, p.ID)
	require.NoError(t, err)
	require.Equal(t, domain.ProposalSucceeded, p.Status, "the dry run succeeds; with no verifier it counts as done")

	p, err = r.svc.RollbackProposal(r.ctx, responder, "graphql", "p1")
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalRolledBack, p.Status)
	_, err = r.svc.RollbackProposal(r.ctx, responder, "graphql", "p1")
	require.ErrorIs(t, err, service.ErrConflict, "rolled back once")
	assert.Contains(t, r.audit(), "proposal.rolled_back p1 ok")
}

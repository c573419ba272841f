package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/storage"
)

// pendingRollback stores a pending medium-risk rollback proposed by
// proposer, as a finished investigation makes one.
func pendingRollback(t *testing.T, s storage.ProposalStore, tenant, id, proposer string) {
	now := time.Now().UnixNano()
	created, err := s.CreateProposal(context.Background(), storage.Proposal{Tenant: tenant, ID: id, Action: "rollback", Target: "payment",
		Params: map[string]string{"version": "2.3.0"}, Risk: storage.RiskMedium, Status: storage.ProposalPending, ProposedBy: proposer,
		ProposedNano: now, UpdatedNano: now, ExpiresNano: now + int64(30*time.Minute),
		History: []storage.ProposalEvent{{AtNano: now, Kind: "proposed", Actor: proposer}}})
	require.NoError(t, err)
	require.True(t, created)
}

// TestApprovalRules: through GraphQL with real credentials, the proposer,
// a responder without the level, a viewer and an empty rejection reason
// are refused with a clear error and an audit entry, and change nothing;
// a team lead's approval executes (the dry run) once.
func TestApprovalRules(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	pendingRollback(t, s.Store(), "t1", "prop-rules", "alice")
	as := func(name string, roles ...string) client.Option {
		return client.AddHeader("Authorization", "Bearer "+tokenFor(t, "t1", name, roles...))
	}
	var out struct{ ApproveProposal struct{ Status string } }
	for _, c := range []struct {
		who  client.Option
		want string
	}{
		{as("alice", "responder", "approver:vp"), "nobody approves their own proposal"},
		{as("bob", "responder"), "needs an approver at level team-lead or above"},
		{as("vic", "viewer"), "FORBIDDEN"},
	} {
		err := s.gql.Post(`mutation { approveProposal(id: "prop-rules") { status } }`, &out, c.who)
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
	}
	err := s.gql.Post(`mutation { rejectProposal(id: "prop-rules", reason: "") { status } }`, &out, as("bob", "responder"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "say why")
	p, err := s.Store().Proposal(context.Background(), "t1", "prop-rules")
	require.NoError(t, err)
	assert.Equal(t, storage.ProposalPending, p.Status, "refusals change nothing")
	assert.Empty(t, p.Approvals)

	s.gql.MustPost(`mutation { approveProposal(id: "prop-rules", comment: "ok", modifications: [{key: "version", value: "2.2.9"}]) { status } }`,
		&out, as("carol", "responder", "approver:team-lead"))
	assert.Equal(t, "succeeded", out.ApproveProposal.Status, "the dry run executes at once and has nothing to verify")
	var got struct {
		Proposal struct {
			Approvals []struct {
				Actor         string
				Levels        []string
				Modifications []struct{ Key, Value string }
			}
			Execution struct {
				DryRun bool
				Output string
			}
		}
	}
	s.gql.MustPost(`{ proposal(id: "prop-rules") { approvals { actor levels modifications { key value } } execution { dryRun output } } }`, &got, as("vic", "viewer"))
	require.Len(t, got.Proposal.Approvals, 1)
	assert.Equal(t, "carol", got.Proposal.Approvals[0].Actor)
	assert.Equal(t, []string{"team-lead"}, got.Proposal.Approvals[0].Levels)
	assert.True(t, got.Proposal.Execution.DryRun)
	assert.Contains(t, got.Proposal.Execution.Output, "version:2.2.9", "the approver's modification is what ran")

	var log struct {
		AuditLog []struct{ Actor, Action, Outcome, Detail string }
	}
	s.gql.MustPost(`{ auditLog(range: {from: "now-1h", to: "now+1m"}) { actor action outcome detail } }`, &log, as("root", "admin"))
	refused := map[string]string{}
	for _, e := range log.AuditLog {
		if e.Outcome == "refused" || e.Outcome == "denied" {
			refused[e.Actor] = e.Action + " " + e.Detail
		}
	}
	assert.Contains(t, refused["alice"], "proposal.approve graphql: not allowed: nobody approves their own proposal")
	assert.Contains(t, refused["bob"], "team-lead")
	assert.Contains(t, refused["vic"], "access.denied needs the responder role", "the viewer's refusal is audited too")
}

// racingApprovals fires 100 approvals at one proposal, half through each
// of two replicas over one store: it executes once.
func racingApprovals(t *testing.T, a, b *testServer, store storage.ProposalStore) {
	t.Helper()
	pendingRollback(t, store, "default", "prop-race", "inquest")
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := 0; i < 100; i++ {
		gw := a
		if i%2 == 1 {
			gw = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct{ ApproveProposal struct{ Status string } }
			if gw.gql.Post(`mutation { approveProposal(id: "prop-race") { status } }`, &out) == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, won, "one approval decides")
	p, err := store.Proposal(context.Background(), "default", "prop-race")
	require.NoError(t, err)
	executions := 0
	for _, h := range p.History {
		if h.Kind == storage.ProposalExecuting {
			executions++
		}
	}
	assert.Equal(t, 1, executions, "one execution: %s", fmt.Sprint(p.History))
}

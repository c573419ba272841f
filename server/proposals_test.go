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
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// pendingRollback stores a pending medium-risk rollback proposed by
// proposer, as a finished investigation makes one.
func pendingRollback(t *testing.T, s storage.ProposalStore, tenant, id, proposer string) {
	now := time.Now().UnixNano()
	created, err := s.CreateProposal(context.Background(), domain.Proposal{Tenant: tenant, ID: id, Action: "rollback", Target: "payment",
		Params: map[string]string{"version": "2.3.0"}, Risk: domain.RiskMedium, Status: domain.ProposalPending, ProposedBy: proposer,
		ProposedNano: now, UpdatedNano: now, ExpiresNano: now + int64(30*time.Minute),
		History: []domain.ProposalEvent{{AtNano: now, Kind: "proposed", Actor: proposer}}})
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
	assert.Equal(t, domain.ProposalPending, p.Status, "refusals change nothing")
	assert.Empty(t, p.Approvals)

	// An expired proposal: nobody decided in time, and nothing runs now.
	pendingRollback(t, s.Store(), "t1", "prop-expired", "alice")
	expired, err := s.Store().Proposal(context.Background(), "t1", "prop-expired")
	require.NoError(t, err)
	expired.Status = domain.ProposalExpired
	require.NoError(t, s.Store().UpdateProposal(context.Background(), *expired, expired.Version))
	err = s.gql.Post(`mutation { approveProposal(id: "prop-expired") { status } }`, &out, as("tina", "responder", "approver:team-lead"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "proposal prop-expired is expired")
	expired, err = s.Store().Proposal(context.Background(), "t1", "prop-expired")
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalExpired, expired.Status)
	assert.Nil(t, expired.Execution)

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
	assert.Contains(t, refused["tina"], "proposal.approve graphql: not in a state that allows it: proposal prop-expired is expired")
}

// TestApprovalPolicyThroughGraphQL: a tenant's admin changes its tiers
// and which of its roles count as approver levels; the next decision is
// judged by them, other tenants keep theirs, a mistake is named and
// changes nothing, and only admins may change it (audited either way).
// Runbooks of the tenant's own are added, listed and removed the same way.
func TestApprovalPolicyThroughGraphQL(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	as := func(tenant, name string, roles ...string) client.Option {
		return client.AddHeader("Authorization", "Bearer "+tokenFor(t, tenant, name, roles...))
	}
	admin := as("t1", "root", "admin")
	type policy struct {
		Source string
		Tiers  []struct {
			Risk, Timeout string
			Approvers     []string
			EscalateTo    *string
		}
		Levels []struct{ Role, Level string }
	}
	var got struct{ ApprovalPolicy policy }
	s.gql.MustPost(`{ approvalPolicy { source tiers { risk approvers timeout escalateTo } levels { role level } } }`, &got, as("t1", "vic", "viewer"))
	assert.Equal(t, "default", got.ApprovalPolicy.Source)
	require.Len(t, got.ApprovalPolicy.Tiers, 5)
	assert.Equal(t, "medium", got.ApprovalPolicy.Tiers[2].Risk)
	assert.Equal(t, []string{"team-lead"}, got.ApprovalPolicy.Tiers[2].Approvers)

	const set = `mutation($a: [String!]!) { setApprovalPolicy(tiers: [{risk: medium, approvers: $a, timeout: "20m", escalateTo: high}],
		levels: [{role: "payments-lead", level: "manager"}]) { source tiers { risk approvers timeout } levels { role level } } }`
	var out struct{ SetApprovalPolicy policy }
	err := s.gql.Post(set, &out, client.Var("a", []string{"sre"}), as("t1", "bob", "responder"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FORBIDDEN", "only admins change the policy")
	err = s.gql.Post(set, &out, client.Var("a", []string{"boss"}), admin)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `tier medium: approver \"boss\" is neither responder nor a level`)
	s.gql.MustPost(set, &out, client.Var("a", []string{"sre"}), admin)
	assert.Equal(t, "api", out.SetApprovalPolicy.Source)
	assert.Equal(t, []string{"sre"}, out.SetApprovalPolicy.Tiers[2].Approvers)
	assert.Equal(t, "20m0s", out.SetApprovalPolicy.Tiers[2].Timeout)
	assert.Equal(t, []struct{ Role, Level string }{{"payments-lead", "manager"}}, out.SetApprovalPolicy.Levels)

	pendingRollback(t, s.Store(), "t1", "prop-policy", "inquest")
	pendingRollback(t, s.Store(), "t2", "prop-policy", "inquest")
	var approved struct{ ApproveProposal struct{ Status string } }
	err = s.gql.Post(`mutation { approveProposal(id: "prop-policy") { status } }`, &approved, as("t1", "carol", "responder", "approver:team-lead"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "level sre", "t1's medium tier now needs an SRE")
	s.gql.MustPost(`mutation { approveProposal(id: "prop-policy") { status } }`, &approved, as("t1", "pat", "responder", "payments-lead"))
	assert.Equal(t, "succeeded", approved.ApproveProposal.Status, "payments-lead counts as a manager in t1")
	err = s.gql.Post(`mutation { approveProposal(id: "prop-policy") { status } }`, &approved, as("t2", "pat", "responder", "payments-lead"))
	require.Error(t, err, "in t2 payments-lead is no level")
	s.gql.MustPost(`mutation { approveProposal(id: "prop-policy") { status } }`, &approved, as("t2", "carol", "responder", "approver:team-lead"))
	assert.Equal(t, "succeeded", approved.ApproveProposal.Status, "t2 keeps the default tiers")

	var put struct{ PutRunbook struct{ Name, Source string } }
	s.gql.MustPost(`mutation { putRunbook(input: {name: "restart payment", service: "payment", cause: "code_error", action: "restart", risk: low,
		params: [{key: "reason", value: "{{version}}"}]}) { name source } }`, &put, admin)
	assert.Equal(t, "api", put.PutRunbook.Source)
	err = s.gql.Post(`mutation { putRunbook(input: {name: "x", cause: "gremlins", action: "restart", risk: low}) { name } }`, &put, admin)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `runbook x: cause \"gremlins\" is none of`)
	var books struct {
		Runbooks []struct{ Name, Action, Risk, Source string }
	}
	s.gql.MustPost(`{ runbooks { name action risk source } }`, &books, as("t1", "vic", "viewer"))
	assert.Equal(t, []struct{ Name, Action, Risk, Source string }{{"restart payment", "restart", "low", "api"}}, books.Runbooks)
	s.gql.MustPost(`{ runbooks { name action risk source } }`, &books, as("t2", "vic", "viewer"))
	assert.Empty(t, books.Runbooks, "another tenant's runbooks are not seen")
	var del struct{ DeleteRunbook bool }
	s.gql.MustPost(`mutation { deleteRunbook(name: "restart payment") }`, &del, admin)
	assert.True(t, del.DeleteRunbook)

	var log struct {
		AuditLog []struct{ Actor, Action, Outcome, Detail string }
	}
	s.gql.MustPost(`{ auditLog(range: {from: "now-1h", to: "now+1m"}) { actor action outcome detail } }`, &log, admin)
	var seen []string
	for _, e := range log.AuditLog {
		seen = append(seen, e.Actor+" "+e.Action+" "+e.Outcome)
	}
	for _, want := range []string{"root policy.set refused", "root policy.set ok", "bob access.denied denied",
		"root runbook.put ok", "root runbook.put refused", "root runbook.delete ok"} {
		assert.Contains(t, seen, want)
	}
}

// racingApprovals fires 100 approvals at one proposal, half through each
// of two replicas over one store: it executes once.
func racingApprovals(t *testing.T, a, b *testServer, store storage.ProposalStore) {
	t.Helper()
	pendingRollback(t, store, "default", "prop-race", "inquest")
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	var lost []string // why, for a failure's message
	for i := 0; i < 100; i++ {
		gw := a
		if i%2 == 1 {
			gw = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct{ ApproveProposal struct{ Status string } }
			err := gw.gql.Post(`mutation { approveProposal(id: "prop-race") { status } }`, &out)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
			} else if len(lost) < 3 {
				lost = append(lost, err.Error())
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, won, "one approval decides; some of the others answered: %q", lost)
	p, err := store.Proposal(context.Background(), "default", "prop-race")
	require.NoError(t, err)
	executions := 0
	for _, h := range p.History {
		if h.Kind == domain.ProposalExecuting {
			executions++
		}
	}
	assert.Equal(t, 1, executions, "one execution: %s", fmt.Sprint(p.History))
}

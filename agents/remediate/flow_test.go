package remediate_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/duckdb"
)

// counting executes nothing and counts.
type counting struct{ runs, undos atomic.Int32 }

func (c *counting) Name() string { return "counting" }
func (c *counting) DryRun() bool { return false }
func (c *counting) Execute(context.Context, domain.Proposal) (string, error) {
	c.runs.Add(1)
	return "done", nil
}
func (c *counting) Undo(context.Context, domain.Proposal) (string, error) {
	c.undos.Add(1)
	return "undone", nil
}

type fixture struct {
	store *duckdb.Store
	exec  *counting
	flow  *remediate.Flow
	clock time.Time
	ok    atomic.Bool // what verification sees
}

func newFixture(t *testing.T) *fixture {
	store, err := duckdb.Open(context.Background(), duckdb.Config{}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	fx := &fixture{store: store, exec: &counting{}, clock: time.Now()}
	fx.flow = remediate.New(remediate.Config{}, store, fx.exec, store, func(context.Context, domain.Proposal, time.Time) remediate.Verdict {
		ok := fx.ok.Load()
		return remediate.Verdict{Decided: ok, Worked: ok, Relieved: ok, Text: "payment's p99 is back in its band"}
	}, nil)
	fx.flow.SetClock(func() time.Time { return fx.clock })
	return fx
}

// propose stores the proposals of an investigation, of an incident of its
// own, whose leading hypothesis is cause on payment, and returns the first.
func (fx *fixture) propose(t *testing.T, cause, by string) domain.Proposal {
	inv := &domain.Investigation{Tenant: "t1", ID: "inv-" + domain.NewID(), IncidentID: "inc-" + domain.NewID(), Hypotheses: []domain.Hypothesis{{
		Service: "payment", Cause: cause, Confidence: 0.9, Affected: []string{"checkout"},
		Change:   &domain.ChangeRef{Type: "deploy", Version: "2.3.1", PreviousVersion: "2.3.0"},
		Evidence: []domain.Evidence{{Kind: "change", Text: "payment: deploy 2.3.1 (was 2.3.0)"}}}}}
	ps, err := fx.flow.Propose(context.Background(), inv, by)
	require.NoError(t, err)
	require.NotEmpty(t, ps)
	return ps[0]
}

func person(name string, levels ...string) remediate.Actor {
	return remediate.Actor{Subject: name, Responder: true, Levels: levels, Channel: "graphql"}
}

func TestRollbackNeedsATeamLead(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.propose(t, domain.CauseBadDeploy, "alice")
	assert.Equal(t, remediate.ActionRollback, p.Action)
	assert.Equal(t, "2.3.0", p.Params["version"])
	assert.Equal(t, domain.RiskMedium, p.Risk)
	assert.Equal(t, domain.ProposalPending, p.Status)

	_, err := fx.flow.Approve(ctx, "t1", p.ID, person("alice", "vp"), "", nil)
	assert.ErrorIs(t, err, remediate.ErrForbidden)
	assert.ErrorContains(t, err, "nobody approves their own proposal")
	_, err = fx.flow.Approve(ctx, "t1", p.ID, person("bob"), "", nil)
	assert.ErrorContains(t, err, "needs an approver at level team-lead or above")
	got, err := fx.flow.Approve(ctx, "t1", p.ID, person("carol", "team-lead"), "go", map[string]string{"version": "2.2.9"})
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalExecuting, got.Status, "approved, executed, being verified")
	assert.Equal(t, int32(1), fx.exec.runs.Load())
	assert.Equal(t, "2.2.9", remediate.Params(*got)["version"], "the approver's modification is what runs")

	fx.ok.Store(true)
	require.NoError(t, fx.flow.Sweep(ctx))
	got, err = fx.store.Proposal(ctx, "t1", p.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalSucceeded, got.Status)
	assert.Equal(t, "payment's p99 is back in its band", got.Execution.Verified)
	log, err := fx.store.AuditLog(ctx, "t1", domain.TimeRange{Start: 0, End: fx.clock.Add(time.Hour).UnixNano()}, 100)
	require.NoError(t, err)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	assert.ElementsMatch(t, []string{"proposal.proposed", "proposal.approved", "proposal.executing", "proposal.executed", "proposal.succeeded"}, actions,
		"every transition is in the audit log")
}

func TestHighRiskNeedsTwoPeople(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.propose(t, domain.CauseDependencyFailure, "inquest")
	require.Equal(t, remediate.ActionRestart, p.Action, "payment is no datastore")
	// A failover of a database is high risk.
	inv := &domain.Investigation{Tenant: "t1", ID: "inv-db", Hypotheses: []domain.Hypothesis{{Service: "postgres",
		Cause: domain.CauseDependencyFailure, Confidence: 0.9, Affected: []string{"cart"}}}}
	ps, err := fx.flow.Propose(ctx, inv, "inquest")
	require.NoError(t, err)
	fo := ps[0]
	require.Equal(t, remediate.ActionFailover, fo.Action)
	require.Equal(t, domain.RiskHigh, fo.Risk)

	got, err := fx.flow.Approve(ctx, "t1", fo.ID, person("sam", "sre"), "", nil)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalPending, got.Status, "one of two")
	_, err = fx.flow.Approve(ctx, "t1", fo.ID, person("sam", "sre"), "", nil)
	assert.ErrorContains(t, err, "has approved it already")
	_, err = fx.flow.Approve(ctx, "t1", fo.ID, person("tess", "sre"), "", nil)
	assert.ErrorContains(t, err, "level manager", "the SRE seat is taken: a manager is needed")
	got, err = fx.flow.Approve(ctx, "t1", fo.ID, person("max", "manager"), "", nil)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalExecuting, got.Status)
	assert.Equal(t, int32(1), fx.exec.runs.Load())
}

func TestTimeoutEscalatesThenExpires(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.propose(t, domain.CauseBadDeploy, "inquest")
	fx.clock = fx.clock.Add(31 * time.Minute)
	_, err := fx.flow.Approve(ctx, "t1", p.ID, person("carol", "team-lead"), "", nil)
	assert.ErrorIs(t, err, remediate.ErrTransition, "past its timeout nobody approves until it is escalated")
	require.NoError(t, fx.flow.Sweep(ctx))
	got, err := fx.store.Proposal(ctx, "t1", p.ID)
	require.NoError(t, err)
	assert.True(t, got.Escalated)
	assert.Equal(t, domain.ProposalPending, got.Status)
	_, err = fx.flow.Approve(ctx, "t1", p.ID, person("carol", "team-lead"), "", nil)
	assert.ErrorIs(t, err, remediate.ErrForbidden, "escalated: the high tier's approvers now")
	assert.ErrorContains(t, err, "level manager")
	fx.clock = fx.clock.Add(61 * time.Minute)
	require.NoError(t, fx.flow.Sweep(ctx))
	got, err = fx.store.Proposal(ctx, "t1", p.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalExpired, got.Status)
	_, err = fx.flow.Approve(ctx, "t1", p.ID, person("max", "manager"), "", nil)
	assert.ErrorIs(t, err, remediate.ErrTransition)
	assert.Zero(t, fx.exec.runs.Load(), "expiry never executes")
}

func TestRejectedAndFailedVerification(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.propose(t, domain.CauseBadDeploy, "inquest")
	_, err := fx.flow.Reject(ctx, "t1", p.ID, person("bob"), "the deploy fixes a security bug")
	require.NoError(t, err)
	_, err = fx.flow.Approve(ctx, "t1", p.ID, person("carol", "team-lead"), "", nil)
	assert.ErrorContains(t, err, "is rejected")

	q := fx.propose(t, domain.CauseBadDeploy, "inquest")
	_, err = fx.flow.Approve(ctx, "t1", q.ID, person("carol", "team-lead"), "", nil)
	require.NoError(t, err)
	fx.clock = fx.clock.Add(11 * time.Minute) // verification sees no effect in time
	require.NoError(t, fx.flow.Sweep(ctx))
	got, err := fx.store.Proposal(ctx, "t1", q.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalRolledBack, got.Status)
	assert.Equal(t, int32(1), fx.exec.undos.Load())
	assert.Contains(t, got.Execution.Verified, "did not come within 10m0s")
}

// TestRacingApprovalsExecuteOnce fires 100 approvals by 100 team leads at
// one proposal: one execution.
func TestRacingApprovalsExecuteOnce(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.propose(t, domain.CauseBadDeploy, "inquest")
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := fx.flow.Approve(ctx, "t1", p.ID, person(fmt.Sprint("lead-", i), "team-lead"), "", nil); err == nil {
				ok.Add(1)
			} else {
				assert.ErrorIs(t, err, remediate.ErrTransition)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load(), "one approval decides")
	assert.Equal(t, int32(1), fx.exec.runs.Load(), "one execution")
}

// TestDecideThenExecute: Decide records the approval that completes the
// seats and runs nothing; Execute then runs it once, and a second Execute
// is refused.
func TestDecideThenExecute(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.propose(t, domain.CauseBadDeploy, "inquest")
	got, err := fx.flow.Decide(ctx, "t1", p.ID, person("lead", "team-lead"), "", nil)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalApproved, got.Status)
	assert.Equal(t, int32(0), fx.exec.runs.Load(), "deciding runs nothing")
	got, err = fx.flow.Execute(ctx, "t1", p.ID, person("lead", "team-lead"))
	require.NoError(t, err)
	assert.NotEqual(t, domain.ProposalApproved, got.Status)
	assert.Equal(t, int32(1), fx.exec.runs.Load())
	_, err = fx.flow.Execute(ctx, "t1", p.ID, person("lead", "team-lead"))
	assert.ErrorIs(t, err, remediate.ErrTransition, "it runs once")
	assert.Equal(t, int32(1), fx.exec.runs.Load())
}

func TestInfoIsApprovedByPolicy(t *testing.T) {
	fx := newFixture(t)
	inv := &domain.Investigation{Tenant: "t1", ID: "inv-low", Hypotheses: []domain.Hypothesis{{Service: "search",
		Cause: domain.CauseUnknown, Confidence: 0.3}}}
	ps, err := fx.flow.Propose(context.Background(), inv, "inquest")
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, remediate.ActionPage, ps[0].Action)
	assert.NotEqual(t, domain.ProposalPending, ps[0].Status, "no approval needed")
	assert.Equal(t, int32(1), fx.exec.runs.Load())
}

// TestProposalsForTheRootCauseOnce: with payment's bad deploy leading at
// 0.95, the symptom services behind it get no page and no ticket; a second
// investigation of the same incident (it gained a service) proposes
// nothing new; a page, when confidence is low, goes to the leading
// hypothesis's owners only, once; it succeeds once sent (nothing to verify,
// nothing to roll back when the incident drags on).
func TestProposalsForTheRootCauseOnce(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	hyps := []domain.Hypothesis{
		{Service: "payment", Cause: domain.CauseBadDeploy, Confidence: 0.95, Affected: []string{"checkout", "frontend"},
			Change: &domain.ChangeRef{Type: "deploy", Version: "2.3.1", PreviousVersion: "2.3.0"}},
		{Service: "frontend", Cause: domain.CauseCodeError, Confidence: 0.6},
		{Service: "checkout", Cause: domain.CauseUnknown, Confidence: 0.3},
	}
	first := &domain.Investigation{Tenant: "t1", ID: "inv-a", IncidentID: "inc-shop", Hypotheses: hyps}
	ps, err := fx.flow.Propose(ctx, first, "inquest")
	require.NoError(t, err)
	require.Len(t, ps, 1, "the root cause's remedy, nothing for its symptoms")
	assert.Equal(t, remediate.ActionRollback, ps[0].Action)
	assert.Equal(t, "payment", ps[0].Target)
	again := &domain.Investigation{Tenant: "t1", ID: "inv-b", IncidentID: "inc-shop", Hypotheses: append(hyps[:1:1],
		domain.Hypothesis{Service: "cart", Cause: domain.CauseResourceSaturation, Confidence: 0.7})}
	ps, err = fx.flow.Propose(ctx, again, "inquest")
	require.NoError(t, err)
	require.Len(t, ps, 1, "the rollback is proposed once per incident; cart's own remedy is new")
	assert.Equal(t, "cart", ps[0].Target)
	assert.Equal(t, remediate.ActionScaleOut, ps[0].Action)

	low := &domain.Investigation{Tenant: "t1", ID: "inv-c", IncidentID: "inc-vague", Hypotheses: []domain.Hypothesis{
		{Service: "search", Cause: domain.CauseUnknown, Confidence: 0.3}, {Service: "frontend", Cause: domain.CauseUnknown, Confidence: 0.2}}}
	ps, err = fx.flow.Propose(ctx, low, "inquest")
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, remediate.ActionPage, ps[0].Action)
	assert.Equal(t, "search", ps[0].Target)
	assert.Equal(t, domain.ProposalSucceeded, ps[0].Status, "a page is done once sent")
	fx.clock = fx.clock.Add(11 * time.Minute) // the incident drags on
	require.NoError(t, fx.flow.Sweep(ctx))
	got, err := fx.store.Proposal(ctx, "t1", ps[0].ID)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalSucceeded, got.Status, "not failed and rolled back")
	assert.Zero(t, fx.exec.undos.Load())
	ps, err = fx.flow.Propose(ctx, &domain.Investigation{Tenant: "t1", ID: "inv-d", IncidentID: "inc-vague", Hypotheses: low.Hypotheses}, "inquest")
	require.NoError(t, err)
	assert.Empty(t, ps, "the owners are paged once")
}

// TestPolicyFile: a tenant's tiers from a policy file decide its
// proposals; other tenants keep the file's (or the default) tiers; a
// mistake in the file is named.
func TestPolicyFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/policy.yaml"
	require.NoError(t, os.WriteFile(path, []byte(`
tiers:
  medium: {approvers: [sre], timeout: 45m, escalate_to: high}
levels:
  db-oncall: sre
tenants:
  acme:
    medium: {approvers: [responder, responder], timeout: 10m}
    levels: {acme-lead: team-lead}
`), 0o600))
	fp, err := remediate.LoadPolicies(path)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"acme-lead": "team-lead"}, fp.Tenants["acme"].Levels)
	fx := newFixture(t)
	fx.flow = remediate.New(remediate.Config{Policy: fp.Policy, Levels: fp.Levels, Tenants: fp.Tenants}, fx.store, fx.exec, fx.store, nil, nil)
	ctx := context.Background()
	for _, tenant := range []string{"t1", "acme"} {
		inv := &domain.Investigation{Tenant: tenant, ID: "inv-" + tenant, Hypotheses: []domain.Hypothesis{{Service: "payment",
			Cause: domain.CauseBadDeploy, Confidence: 0.9, Change: &domain.ChangeRef{Version: "2", PreviousVersion: "1"}}}}
		_, err := fx.flow.Propose(ctx, inv, "inquest")
		require.NoError(t, err)
	}
	pending, err := fx.store.Proposal(ctx, "t1", "prop-t1-1-rollback")
	require.NoError(t, err)
	assert.Equal(t, "an approver at level sre or above (not the proposer)", fp.Policy.Needs(*pending), "who may approve, in words")
	_, err = fx.flow.Approve(ctx, "t1", "prop-t1-1-rollback", person("carol", "team-lead"), "", nil)
	assert.ErrorContains(t, err, "level sre", "the file's medium tier: an SRE")
	oncall := person("erin")
	oncall.Roles = []string{"responder", "db-oncall"}
	got, err := fx.flow.Approve(ctx, "t1", "prop-t1-1-rollback", oncall, "", nil)
	require.NoError(t, err, "the file counts db-oncall as an SRE")
	assert.Equal(t, domain.ProposalSucceeded, got.Status)
	assert.Equal(t, []string{"sre"}, got.Approvals[0].Levels, "the level it was approved at is recorded")
	got, err = fx.flow.Approve(ctx, "acme", "prop-acme-1-rollback", person("bob"), "", nil)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalPending, got.Status, "acme's medium tier: two responders")
	got, err = fx.flow.Approve(ctx, "acme", "prop-acme-1-rollback", person("dan"), "", nil)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalSucceeded, got.Status)

	require.NoError(t, os.WriteFile(path, []byte("tiers:\n  urgent: {approvers: [sre], timeout: 1m}\n"), 0o600))
	_, err = remediate.LoadPolicies(path)
	assert.ErrorContains(t, err, `tier "urgent" is none of`)
	require.NoError(t, os.WriteFile(path, []byte("tiers:\n  low: {approvers: [boss], timeout: 1m}\n"), 0o600))
	_, err = remediate.LoadPolicies(path)
	assert.ErrorContains(t, err, `approver "boss"`)
	require.NoError(t, os.WriteFile(path, []byte("levels:\n  payments-lead: boss\n"), 0o600))
	_, err = remediate.LoadPolicies(path)
	assert.ErrorContains(t, err, `role payments-lead: "boss" is none of the levels`)
}

// TestRunbooks: a matching runbook is proposed instead of the catalog's
// remedy, its parameters filled from the blamed change; no match keeps
// the catalog; a runbook file's mistakes are named.
func TestRunbooks(t *testing.T) {
	path := t.TempDir() + "/runbooks.yaml"
	require.NoError(t, os.WriteFile(path, []byte(`
service_tags:
  postgres: [database]
runbooks:
  - name: payment-pin
    match: {service: payment, cause: bad_deploy}
    action: pin_version
    risk: low
    params: {version: "{{previous_version}}", service: "{{service}}"}
    expected: payment's p99 back in its band
    rollback: unpin
  - name: db-vacuum
    match: {tags: [database]}
    action: run_vacuum
    risk: medium
`), 0o600))
	rb, err := remediate.LoadRunbooks(path)
	require.NoError(t, err)
	fx := newFixture(t)
	fx.flow = remediate.New(remediate.Config{Runbooks: rb}, fx.store, fx.exec, fx.store, nil, nil)
	inv := &domain.Investigation{Tenant: "t1", ID: "inv-rb", Hypotheses: []domain.Hypothesis{
		{Service: "payment", Cause: domain.CauseBadDeploy, Confidence: 0.9, Change: &domain.ChangeRef{Version: "2.3.1", PreviousVersion: "2.3.0"}},
		{Service: "postgres", Cause: domain.CauseDependencyFailure, Confidence: 0.7}}}
	ps, err := fx.flow.Propose(context.Background(), inv, "inquest")
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "pin_version", ps[0].Action)
	assert.Equal(t, domain.RiskLow, ps[0].Risk)
	assert.Equal(t, map[string]string{"runbook": "payment-pin", "version": "2.3.0", "service": "payment"}, ps[0].Params)
	assert.Equal(t, "run_vacuum", ps[1].Action, "matched by the service's tag")

	require.NoError(t, os.WriteFile(path, []byte("runbooks:\n  - {name: x, action: y, risk: huge}\n"), 0o600))
	_, err = remediate.LoadRunbooks(path)
	assert.ErrorContains(t, err, `risk "huge"`)
}

// TestShellExecutor: a runbook's command runs only when its program is
// allowed, with each parameter one argument (no shell to inject into).
func TestShellExecutor(t *testing.T) {
	echo, err := exec.LookPath("echo")
	require.NoError(t, err)
	rb := &remediate.Runbooks{Runbooks: []remediate.Runbook{
		{Name: "say", Action: "say", Risk: domain.RiskLow, Command: []string{echo, "restart", "{{service}}", "{{note}}"}},
		{Name: "rm", Action: "rm", Risk: domain.RiskLow, Command: []string{"/bin/rm", "-rf", "/tmp/x"}}}}
	e := &remediate.ShellExecutor{Runbooks: rb, Allow: []string{echo}}
	out, err := e.Execute(context.Background(), domain.Proposal{Target: "cart", Params: map[string]string{"runbook": "say", "note": "a; rm -rf / $(id)"}})
	require.NoError(t, err)
	assert.Equal(t, "restart cart a; rm -rf / $(id)", out, "the parameter is one argument, not interpreted")
	_, err = e.Execute(context.Background(), domain.Proposal{Target: "cart", Params: map[string]string{"runbook": "rm"}})
	assert.ErrorContains(t, err, "/bin/rm is not on the allow-list")
	_, err = e.Execute(context.Background(), domain.Proposal{Action: "restart", Target: "cart"})
	assert.ErrorContains(t, err, "only a runbook with a command runs here")
}

// TestRulesSetThroughTheAPI: a tenant's admins change its tiers, its
// role levels and its runbooks at run time; the change counts at once for
// that tenant only, and a mistake changes nothing.
func TestRulesSetThroughTheAPI(t *testing.T) {
	store, err := duckdb.Open(context.Background(), duckdb.Config{}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	flow := remediate.New(remediate.Config{Settings: store}, store, &counting{}, store, nil, nil)
	ctx := context.Background()
	rules, err := flow.Rules(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, "default", rules.Source)

	_, err = flow.SetPolicy(ctx, "acme", remediate.PolicySpec{Tiers: map[string]remediate.TierSpec{"medium": {Approvers: []string{"boss"}, Timeout: "5m"}}})
	assert.ErrorIs(t, err, remediate.ErrInvalid)
	rules, err = flow.SetPolicy(ctx, "acme", remediate.PolicySpec{
		Tiers:  map[string]remediate.TierSpec{"medium": {Approvers: []string{"responder"}, Timeout: "5m", EscalateTo: "high"}},
		Levels: map[string]string{"payments-lead": "manager"}})
	require.NoError(t, err)
	assert.Equal(t, "api", rules.Source)
	assert.Equal(t, remediate.TierSpec{Approvers: []string{"responder"}, Timeout: "5m0s", EscalateTo: "high"}, rules.Policy.Spec()["medium"])
	other, err := flow.Rules(ctx, "globex")
	require.NoError(t, err)
	assert.Equal(t, []string{"team-lead"}, other.Policy.Spec()["medium"].Approvers, "another tenant keeps the default")

	require.ErrorIs(t, flow.PutRunbook(ctx, "acme", remediate.Runbook{Name: "drain", Action: "restart", Risk: "low", Command: []string{"rm", "-rf", "/"}}),
		remediate.ErrInvalid, "commands come only from the file")
	rb := remediate.Runbook{Name: "payment restart", Action: remediate.ActionRestart, Risk: domain.RiskLow}
	rb.Match.Service, rb.Match.Cause = "payment", domain.CauseBadDeploy
	require.NoError(t, flow.PutRunbook(ctx, "acme", rb))
	inv := &domain.Investigation{Tenant: "acme", ID: "inv-api", Hypotheses: []domain.Hypothesis{{Service: "payment",
		Cause: domain.CauseBadDeploy, Confidence: 0.9, Change: &domain.ChangeRef{Version: "2", PreviousVersion: "1"}}}}
	ps, err := flow.Propose(ctx, inv, "inquest")
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.Equal(t, remediate.ActionRestart, ps[0].Action, "the tenant's runbook matched")
	assert.Equal(t, "payment restart", ps[0].Params["runbook"])

	manager := person("mia")
	manager.Roles = []string{"responder", "payments-lead"}
	got, err := flow.Approve(ctx, "acme", ps[0].ID, manager, "", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"manager"}, got.Approvals[0].Levels, "payments-lead counts as a manager in acme")
	deleted, err := flow.DeleteRunbook(ctx, "acme", "payment restart")
	require.NoError(t, err)
	assert.True(t, deleted)
	deleted, err = flow.DeleteRunbook(ctx, "acme", "payment restart")
	require.NoError(t, err)
	assert.False(t, deleted)
}

// Verification says what came back even when the incident resolved
// before it looked, credits the incident's end only to a proposal whose
// target's anomalies ended after it ran, and a resolved incident with
// nothing of the target's to watch still counts, without the credit.
func TestVerifyByAnomalies(t *testing.T) {
	ctx := context.Background()
	store, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	require.NoError(t, store.PutAnomalies(ctx, []domain.Anomaly{
		{Tenant: "t", ID: "a1", Service: "payment", StartNano: 1, EndNano: 0},
		{Tenant: "t", ID: "a2", Service: "checkout", StartNano: 1, EndNano: 0},
		{Tenant: "t", ID: "a3", Service: "frontend", StartNano: 1, EndNano: 5},
	}))
	in := domain.Incident{Tenant: "t", ID: "i1", Status: domain.IncidentOpen, AnomalyIDs: []string{"a1", "a2", "a3"}, OpenedNano: 1, UpdatedNano: 1}
	require.NoError(t, store.PutIncident(ctx, in))
	verify := remediate.VerifyByAnomalies(store)
	p := domain.Proposal{Tenant: "t", IncidentID: "i1", Target: "payment", Execution: &domain.Execution{StartedNano: 10}}

	v := verify(ctx, p, time.Now())
	assert.False(t, v.Decided || v.Worked)
	assert.Equal(t, "1 of payment's 1 anomalies still open", v.Text)

	require.NoError(t, store.PutAnomalies(ctx, []domain.Anomaly{{Tenant: "t", ID: "a1", Service: "payment", StartNano: 1, EndNano: 20}}))
	in.Status = domain.IncidentResolved
	require.NoError(t, store.PutIncident(ctx, in))
	v = verify(ctx, p, time.Now())
	assert.True(t, v.Decided && v.Worked && v.Relieved)
	assert.Contains(t, v.Text, "payment's 1 anomalies of the incident have ended since it ran")

	// frontend's anomaly ended before a page to its owners ran: the end of
	// the incident is not the page's doing.
	p.Target = "frontend"
	v = verify(ctx, p, time.Now())
	assert.True(t, v.Decided && v.Worked)
	assert.False(t, v.Relieved)
	assert.Equal(t, "the incident is resolved (none of frontend's anomalies was open when it ran)", v.Text)

	p.Target = "postgres"
	v = verify(ctx, p, time.Now())
	assert.True(t, v.Decided && v.Worked)
	assert.False(t, v.Relieved)
}

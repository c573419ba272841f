package service_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/updates"
)

// rig is the service over the embedded store (a real one, in a temporary
// directory), the real incident lifecycle and the approval flow with its
// dry-run executor: the guard's rules are what is under test.
type rig struct {
	t     *testing.T
	ctx   context.Context
	store *duckdb.Store
	svc   *service.Service
	flow  *remediate.Flow
	now   time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "x.db")}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	r := &rig{t: t, ctx: ctx, store: st, now: time.Now().Truncate(time.Second)}
	broker := updates.NewBroker(nil)
	r.flow = remediate.New(remediate.Config{Settings: st}, st, nil, st, nil, nil)
	r.svc = service.New(service.Config{MaxRange: 48 * time.Hour, Now: func() time.Time { return r.now }, MaxStreams: 2},
		service.Deps{Events: st, Metrics: st, DeadLetters: st, APIKeys: st, Audit: st, Incidents: st, Rules: st,
			Lifecycle: incidents.New(st, broker, nil, nil), Updates: broker,
			Investigations: st, Proposals: st, Remediation: r.flow}, nil)
	return r
}

// as is a principal of tenant t1 holding role.
func as(subject string, role auth.Role) service.Principal {
	return service.Principal{Principal: auth.Principal{Subject: subject, Tenant: "t1", Roles: []string{string(role)}}}
}

func of(tenant string, role auth.Role) service.Principal {
	return service.Principal{Principal: auth.Principal{Subject: "someone", Tenant: tenant, Roles: []string{string(role)}}}
}

var lastHour = service.Range{From: "now-1h", To: "now"}

// incident stores an open incident of t1.
func (r *rig) incident(id, service string) {
	r.t.Helper()
	at := r.now.Add(-10 * time.Minute).UnixNano()
	require.NoError(r.t, r.store.UpdateIncident(r.ctx, domain.Incident{Tenant: "t1", ID: id, Title: service + " slow", Severity: "high",
		Status: domain.IncidentOpen, Services: []string{service}, OpenedNano: at, UpdatedNano: at}, 0))
}

// audit is the tenant's audit log, "action target outcome" per entry
// (the rig's clock stands still, so their order is not kept).
func (r *rig) audit() []string {
	r.t.Helper()
	entries, err := r.store.AuditLog(r.ctx, "t1", domain.TimeRange{Start: 0, End: r.now.Add(time.Hour).UnixNano()}, 100)
	require.NoError(r.t, err)
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action+" "+entries[i].Target+" "+entries[i].Outcome)
	}
	return out
}

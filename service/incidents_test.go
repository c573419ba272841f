package service_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// TestIncidentChangesAreGuardedAndAudited: the role table decides, a
// refusal is audited, a change is audited, a repeated change is a
// conflict and an unknown incident is not found.
func TestIncidentChangesAreGuardedAndAudited(t *testing.T) {
	r := newRig(t)
	r.incident("i1", "payment")

	_, err := r.svc.AcknowledgeIncident(r.ctx, as("val", auth.RoleViewer), "i1")
	require.ErrorIs(t, err, service.ErrForbidden)
	assert.Contains(t, err.Error(), "acknowledgeIncident needs the responder role")

	in, err := r.svc.AcknowledgeIncident(r.ctx, as("ann", auth.RoleResponder), "i1")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentAcknowledged, in.Status)
	assert.Equal(t, "ann", in.AcknowledgedBy)

	_, err = r.svc.AcknowledgeIncident(r.ctx, as("bob", auth.RoleResponder), "i1")
	require.ErrorIs(t, err, service.ErrConflict, "acknowledged once")
	assert.Contains(t, err.Error(), "not open")

	_, err = r.svc.ResolveIncident(r.ctx, as("ann", auth.RoleResponder), "nope")
	require.ErrorIs(t, err, service.ErrNotFound)
	assert.Equal(t, `incident "nope" not found`, err.Error())

	in, err = r.svc.ResolveIncident(r.ctx, as("ann", auth.RoleResponder), "i1")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentResolved, in.Status)
	in, err = r.svc.ReopenIncident(r.ctx, as("bob", auth.RoleResponder), "i1")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentOpen, in.Status)
	_, err = r.svc.AcceptNewNormal(r.ctx, as("bob", auth.RoleResponder), "i1")
	require.NoError(t, err)

	assert.ElementsMatch(t, []string{
		"access.denied acknowledgeIncident denied",
		"incident.acknowledge i1 ok",
		"incident.resolve i1 ok",
		"incident.reopen i1 ok",
		"incident.accept_new_normal i1 ok",
	}, r.audit())
}

// TestIncidentsStayWithTheirTenant: another tenant's incident is not
// found, whatever the role, and a request without a tenant is refused.
func TestIncidentsStayWithTheirTenant(t *testing.T) {
	r := newRig(t)
	r.incident("i1", "payment")
	_, err := r.svc.Incident(r.ctx, of("t2", auth.RoleAdmin), "i1")
	require.ErrorIs(t, err, service.ErrNotFound)
	_, err = r.svc.ResolveIncident(r.ctx, of("t2", auth.RoleAdmin), "i1")
	require.ErrorIs(t, err, service.ErrNotFound)
	list, err := r.svc.Incidents(r.ctx, of("t2", auth.RoleAdmin), lastHour, "")
	require.NoError(t, err)
	assert.Empty(t, list)

	got, err := r.svc.Incident(r.ctx, as("val", auth.RoleViewer), "i1")
	require.NoError(t, err)
	assert.Equal(t, "payment slow", got.Title)
	list, err = r.svc.Incidents(r.ctx, as("val", auth.RoleViewer), lastHour, "")
	require.NoError(t, err)
	assert.Len(t, list, 1)

	_, err = r.svc.Incident(r.ctx, service.Principal{Principal: auth.Principal{Roles: []string{"admin"}}}, "i1")
	require.ErrorIs(t, err, service.ErrInvalid)
	assert.Contains(t, err.Error(), "no tenant")
}

func TestMergeIncidents(t *testing.T) {
	r := newRig(t)
	r.incident("a", "checkout")
	r.incident("b", "payment")
	_, err := r.svc.MergeIncidents(r.ctx, as("ann", auth.RoleResponder), "a", nil)
	require.ErrorIs(t, err, service.ErrInvalid)
	_, err = r.svc.MergeIncidents(r.ctx, as("val", auth.RoleViewer), "a", nil)
	require.ErrorIs(t, err, service.ErrForbidden, "the role is checked before the input")

	in, err := r.svc.MergeIncidents(r.ctx, as("ann", auth.RoleResponder), "a", []string{"b"})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"checkout", "payment"}, in.Services)
	b, err := r.svc.Incident(r.ctx, as("val", auth.RoleViewer), "b")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentResolved, b.Status)
	_, err = r.svc.MergeIncidents(r.ctx, as("ann", auth.RoleResponder), "a", []string{"b"})
	require.ErrorIs(t, err, service.ErrConflict, "merged once")
}

// TestRulesNeedTheDetector: a process without detection says so instead
// of pretending.
func TestRulesNeedTheDetector(t *testing.T) {
	r := newRig(t)
	_, err := r.svc.CreateRule(r.ctx, as("ann", auth.RoleResponder), service.RuleInput{Name: "p99", Kind: "threshold", Service: "payment"})
	require.ErrorIs(t, err, service.ErrUnavailable)
	assert.Contains(t, err.Error(), "where detection runs")
	require.ErrorIs(t, r.svc.DeleteRule(r.ctx, as("ann", auth.RoleResponder), "x"), service.ErrUnavailable)
	rules, err := r.svc.Rules(r.ctx, as("val", auth.RoleViewer))
	require.NoError(t, err)
	assert.Empty(t, rules)
}

// TestAnomaliesOfAnIncident: listing is bounded and scoped; an incident's
// anomalies are its own.
func TestAnomaliesOfAnIncident(t *testing.T) {
	r := newRig(t)
	r.incident("i1", "payment")
	at := r.now.Add(-5 * 60e9).UnixNano()
	require.NoError(t, r.store.PutAnomalies(r.ctx, []domain.Anomaly{
		{Tenant: "t1", ID: "a1", Series: "red:payment:p99_ms", Service: "payment", StartNano: at, Severity: "high", IncidentID: "i1"},
		{Tenant: "t1", ID: "a2", Series: "red:search:p99_ms", Service: "search", StartNano: at, Severity: "low"},
	}))
	in, err := r.store.Incident(r.ctx, "t1", "i1")
	require.NoError(t, err)
	in.AnomalyIDs = []string{"a1"}
	require.NoError(t, r.store.UpdateIncident(r.ctx, *in, in.Version))

	got, err := r.svc.IncidentAnomalies(r.ctx, as("val", auth.RoleViewer), "i1")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "a1", got[0].ID)

	all, err := r.svc.Anomalies(r.ctx, as("val", auth.RoleViewer), service.AnomalyFilter{Range: lastHour, All: true})
	require.NoError(t, err)
	assert.Len(t, all, 2)
	worthy, err := r.svc.Anomalies(r.ctx, as("val", auth.RoleViewer), service.AnomalyFilter{Range: lastHour})
	require.NoError(t, err)
	assert.Len(t, worthy, 1, "by default only anomalies that drive incidents")

	zero := 0
	_, err = r.svc.Anomalies(r.ctx, as("val", auth.RoleViewer), service.AnomalyFilter{Range: lastHour, Limit: &zero})
	require.ErrorIs(t, err, service.ErrInvalid)
	_, err = r.svc.Anomalies(r.ctx, as("val", auth.RoleViewer), service.AnomalyFilter{Range: service.Range{From: "now-30d", To: "now"}})
	require.ErrorIs(t, err, service.ErrInvalid, "longer than the range limit")
	assert.Contains(t, err.Error(), "longer than the limit")
}

// TestIncidentListsFilterByStatus: the status filter is the store's, and
// an unknown status is named.
func TestIncidentListsFilterByStatus(t *testing.T) {
	r := newRig(t)
	r.incident("a", "payment")
	r.incident("b", "search")
	_, err := r.svc.ResolveIncident(r.ctx, as("ann", auth.RoleResponder), "b")
	require.NoError(t, err)
	viewer := as("val", auth.RoleViewer)
	open, err := r.svc.Incidents(r.ctx, viewer, lastHour, domain.IncidentOpen)
	require.NoError(t, err)
	require.Len(t, open, 1)
	assert.Equal(t, "a", open[0].ID)
	resolved, err := r.svc.Incidents(r.ctx, viewer, lastHour, domain.IncidentResolved)
	require.NoError(t, err)
	require.Len(t, resolved, 1)
	_, err = r.svc.Incidents(r.ctx, viewer, lastHour, "smouldering")
	require.ErrorIs(t, err, service.ErrInvalid)
}

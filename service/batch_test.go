package service_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// TestBatchReadsAnswerAsOneByOne: the batch reads give each incident what
// the one-by-one reads give, an investigation started after the incident
// resolved included.
func TestBatchReadsAnswerAsOneByOne(t *testing.T) {
	r := newRig(t)
	r.incident("open", "payment")
	r.incident("done", "search")
	in, err := r.svc.ResolveIncident(r.ctx, as("ann", auth.RoleResponder), "done")
	require.NoError(t, err)
	later := r.now.Add(-time.Minute).UnixNano() // after it resolved
	require.Less(t, in.ResolvedNano, later+int64(2*time.Minute))
	require.NoError(t, r.store.PutInvestigation(r.ctx, domain.Investigation{Tenant: "t1", ID: "v-late", IncidentID: "done",
		Status: domain.InvestigationDone, StartedNano: in.ResolvedNano + int64(time.Second)}))
	require.NoError(t, r.store.PutInvestigation(r.ctx, domain.Investigation{Tenant: "t1", ID: "v-open", IncidentID: "open",
		Status: domain.InvestigationDone, StartedNano: later}))

	viewer := as("val", auth.RoleViewer)
	var refs []service.IncidentRef
	for _, id := range []string{"open", "done"} {
		got, err := r.svc.Incident(r.ctx, viewer, id)
		require.NoError(t, err)
		refs = append(refs, service.IncidentRef{ID: got.ID, OpenedNano: got.OpenedNano, EndNano: got.ResolvedNano})
	}
	r.now = r.now.Add(time.Minute)
	batch, err := r.svc.IncidentsInvestigation(r.ctx, viewer, refs)
	require.NoError(t, err)
	for _, ref := range refs {
		one, err := r.svc.IncidentInvestigation(r.ctx, viewer, ref.ID)
		require.NoError(t, err)
		require.NotNil(t, one, ref.ID)
		require.NotNil(t, batch[ref.ID], ref.ID)
		assert.Equal(t, one.ID, batch[ref.ID].ID, ref.ID)
	}
	alone, err := r.svc.IncidentsInvestigation(r.ctx, viewer, refs[1:]) // the resolved one in a batch of its own
	require.NoError(t, err)
	require.NotNil(t, alone["done"], "an investigation after the resolution is the incident's too")
	assert.Equal(t, "v-late", alone["done"].ID)
	anomalies, err := r.svc.IncidentsAnomalies(r.ctx, viewer, refs)
	require.NoError(t, err)
	assert.Len(t, anomalies, 2)
	proposals, err := r.svc.IncidentsProposals(r.ctx, viewer, refs)
	require.NoError(t, err)
	assert.Len(t, proposals, 2)
	_, err = r.svc.IncidentsAnomalies(r.ctx, as("nobody", auth.RoleIngest), refs)
	require.ErrorIs(t, err, service.ErrForbidden)
}

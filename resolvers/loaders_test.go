package resolvers_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/graph"
	"github.com/inquest/inquest/resolvers"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
)

// counted counts the store reads an incident's fields make.
type counted struct {
	*duckdb.Store
	reads atomic.Int64
}

func (c *counted) Incident(ctx context.Context, tenant, id string) (*domain.Incident, error) {
	c.reads.Add(1)
	return c.Store.Incident(ctx, tenant, id)
}

func (c *counted) Incidents(ctx context.Context, tenant string, r domain.TimeRange, status string) ([]domain.Incident, error) {
	c.reads.Add(1)
	return c.Store.Incidents(ctx, tenant, r, status)
}

func (c *counted) Anomalies(ctx context.Context, tenant string, r domain.TimeRange, svc string, limit int) ([]domain.Anomaly, error) {
	c.reads.Add(1)
	return c.Store.Anomalies(ctx, tenant, r, svc, limit)
}

func (c *counted) Investigations(ctx context.Context, tenant string, r domain.TimeRange, incidentID string, limit int) ([]domain.Investigation, error) {
	c.reads.Add(1)
	return c.Store.Investigations(ctx, tenant, r, incidentID, limit)
}

func (c *counted) Proposals(ctx context.Context, tenant string, r domain.TimeRange, incidentID, investigationID string, limit int) ([]domain.Proposal, error) {
	c.reads.Add(1)
	return c.Store.Proposals(ctx, tenant, r, incidentID, investigationID, limit)
}

var _ storage.IncidentStore = (*counted)(nil)

// TestIncidentListIsNotNPlusOne: listing 20 incidents with their
// anomalies, investigation and proposals reads the stores a fixed number
// of times (61 before the loaders), and each incident gets its own.
func TestIncidentListIsNotNPlusOne(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "x.db")}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now()
	const n = 20
	for i := range n {
		id := fmt.Sprintf("i%02d", i)
		at := now.Add(-time.Duration(30-i) * time.Minute).UnixNano()
		require.NoError(t, st.PutAnomalies(ctx, []domain.Anomaly{{Tenant: "t1", ID: "a" + id, Series: "red:s:p99_ms", Service: "s",
			StartNano: at, Severity: "high", IncidentID: id}}))
		require.NoError(t, st.UpdateIncident(ctx, domain.Incident{Tenant: "t1", ID: id, Title: id, Severity: "high", Status: domain.IncidentOpen,
			Services: []string{"s"}, AnomalyIDs: []string{"a" + id}, OpenedNano: at, UpdatedNano: at}, 0))
		if i%2 == 0 {
			require.NoError(t, st.PutInvestigation(ctx, domain.Investigation{Tenant: "t1", ID: "v" + id, IncidentID: id,
				Status: domain.InvestigationDone, StartedNano: at + 1}))
			ok, err := st.CreateProposal(ctx, domain.Proposal{Tenant: "t1", ID: "p" + id, IncidentID: id, Action: "rollback", Target: "s",
				Risk: domain.RiskLow, Status: domain.ProposalPending, ProposedNano: at + 2, UpdatedNano: at + 2})
			require.NoError(t, err)
			require.True(t, ok)
		}
	}
	c := &counted{Store: st}
	svc := service.New(service.Config{}, service.Deps{Events: st, Incidents: c, Investigations: c, Proposals: c}, nil)
	res := &resolvers.Resolver{Service: svc}
	h := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: res}))
	h.AddTransport(transport.POST{})
	h.AroundOperations(res.BatchReads)
	gql := client.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(auth.WithTenant(r.Context(), "t1")))
	}))

	var out struct {
		Incidents []struct {
			ID            string
			Anomalies     []struct{ ID string }
			Investigation *struct{ ID string }
			Proposals     []struct{ ID string }
		}
	}
	c.reads.Store(0)
	gql.MustPost(`{ incidents(range: {from: "now-2h", to: "now"}) { id anomalies { id } investigation { id } proposals { id } } }`, &out)
	require.Len(t, out.Incidents, n)
	for _, in := range out.Incidents {
		require.Len(t, in.Anomalies, 1, in.ID)
		assert.Equal(t, "a"+in.ID, in.Anomalies[0].ID)
		var i int
		_, _ = fmt.Sscanf(in.ID, "i%02d", &i)
		if i%2 == 0 {
			require.NotNil(t, in.Investigation, in.ID)
			assert.Equal(t, "v"+in.ID, in.Investigation.ID)
			require.Len(t, in.Proposals, 1)
			assert.Equal(t, "p"+in.ID, in.Proposals[0].ID)
		} else {
			assert.Nil(t, in.Investigation, in.ID)
			assert.Empty(t, in.Proposals, in.ID)
		}
	}
	batched := c.reads.Load()
	// The list, then a batch per field (the anomalies' reads their
	// incidents and their anomalies): 5; a field whose keys straddle the
	// loader's wait on a loaded machine takes two batches.
	assert.LessOrEqual(t, batched, int64(9), "one or two batches per field")

	// The same query without the loaders: what it was before.
	plain := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: res}))
	plain.AddTransport(transport.POST{})
	c.reads.Store(0)
	client.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain.ServeHTTP(w, r.WithContext(auth.WithTenant(r.Context(), "t1")))
	})).MustPost(`{ incidents(range: {from: "now-2h", to: "now"}) { id anomalies { id } investigation { id } proposals { id } } }`, &out)
	unbatched := c.reads.Load()
	assert.GreaterOrEqual(t, unbatched, int64(1+3*n))
	assert.Less(t, 5*batched, unbatched)
	t.Logf("store reads for %d incidents with three fields: %d batched, %d one by one", n, batched, unbatched)
}

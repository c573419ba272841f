package duckdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
)

func resSpan(tenant, host string, at time.Time, i int) domain.Event {
	e := domain.Event{Tenant: tenant, TimeUnixNano: at.UnixNano() + int64(i), Kind: domain.KindSpan, Service: "api",
		Name: "GET", DurationNano: 1e6, Status: domain.StatusOK, SampleRate: 1, IngestedNano: at.UnixNano()}
	e.Resource.Put("service.name", "api")
	e.Resource.Put("host.name", host)
	e.ID = e.ContentHash()
	return e
}

func countRows(t *testing.T, s *duckdb.Store, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().QueryRow(query, args...).Scan(&n))
	return n
}

func countByHost(t *testing.T, s *duckdb.Store, tenant, host string) float64 {
	t.Helper()
	res, err := s.Aggregate(context.Background(), domain.Query{Tenant: tenant, Range: domain.TimeRange{Start: 0, End: 1 << 62},
		Filters: []domain.Filter{{Field: domain.Field{Kind: domain.FieldResource, Name: "host.name"}, Op: domain.OpEq, Value: host}}})
	require.NoError(t, err)
	if len(res.Rows) == 0 || res.Rows[0].Values[0] == nil {
		return 0
	}
	return *res.Rows[0].Values[0]
}

// TestResourcesStoredOnce: eight writers at once, each bringing the same
// two new resources in every batch, leave each resource in the table
// once (a second copy would count every span of it twice), and a store
// opened again knows them.
func TestResourcesStoredOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := duckdb.Open(ctx, duckdb.Config{Path: path}, nil)
	require.NoError(t, err)
	now := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < 5; b++ {
				var evs []domain.Event
				for i := 0; i < 100; i++ {
					evs = append(evs, resSpan("t", []string{"h1", "h2"}[i%2], now, w*1000+b*100+i))
				}
				assert.NoError(t, s.WriteEvents(ctx, evs))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 2, countRows(t, s, "SELECT count(*) FROM resources"))
	assert.Equal(t, 0, countRows(t, s, "SELECT count(*) FROM events WHERE res_keys IS NOT NULL"), "kept once, not on the rows")
	assert.Equal(t, 2000.0, countByHost(t, s, "t", "h1"))
	require.NoError(t, s.Close())

	s, err = duckdb.Open(ctx, duckdb.Config{Path: path}, nil)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.WriteEvents(ctx, []domain.Event{resSpan("t", "h1", now, 99999), resSpan("u", "h1", now, 1)}))
	assert.Equal(t, 3, countRows(t, s, "SELECT count(*) FROM resources"), "h1 again: known; h1 of tenant u: its own")
	assert.Equal(t, 2001.0, countByHost(t, s, "t", "h1"))
	assert.Equal(t, 1.0, countByHost(t, s, "u", "h1"))
}

// TestResourcesPruned: retention takes the resources whose spans are all
// gone and keeps the rest; a resource that comes back after it was taken
// is stored again.
func TestResourcesPruned(t *testing.T) {
	ctx := context.Background()
	s, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "p.db")}, nil)
	require.NoError(t, err)
	defer s.Close()
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	require.NoError(t, s.WriteEvents(ctx, []domain.Event{resSpan("t", "gone", old, 1), resSpan("t", "both", old, 2), resSpan("t", "both", now, 3)}))
	require.Equal(t, 2, countRows(t, s, "SELECT count(*) FROM resources"))
	_, err = s.Prune(ctx, storage.Retention{Default: 24 * time.Hour}, now)
	require.NoError(t, err)
	var hosts []string
	rows, err := s.DB().Query("SELECT res_vals[2] FROM resources ORDER BY 1")
	require.NoError(t, err)
	for rows.Next() {
		var h string
		require.NoError(t, rows.Scan(&h))
		hosts = append(hosts, h)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"both"}, hosts)

	require.NoError(t, s.WriteEvents(ctx, []domain.Event{resSpan("t", "gone", now, 4)}))
	assert.Equal(t, 1.0, countByHost(t, s, "t", "gone"), "stored again after it was pruned")
}

// TestResourcesOfOlderRows: rows written before resources had their own
// table carry their attributes on the row, and read as before beside
// new ones.
func TestResourcesOfOlderRows(t *testing.T) {
	ctx := context.Background()
	s, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "o.db")}, nil)
	require.NoError(t, err)
	defer s.Close()
	now := time.Now()
	_, err = s.DB().Exec(`INSERT INTO events (tenant_id, ts, kind, service, name, status, attr_keys, attr_vals, num_keys, num_vals,
		res_keys, res_vals, sample_rate, event_id) VALUES ('t', ?, 'span', 'api', 'GET', 'ok', [], [], [], [],
		['service.name', 'host.name'], ['api', 'h1'], 1, 7)`, now.UnixNano())
	require.NoError(t, err)
	require.NoError(t, s.WriteEvents(ctx, []domain.Event{resSpan("t", "h1", now, 1)}))
	assert.Equal(t, 2.0, countByHost(t, s, "t", "h1"))
	page, err := s.Events(ctx, domain.EventQuery{Tenant: "t", Range: domain.TimeRange{Start: 0, End: 1 << 62}})
	require.NoError(t, err)
	require.Len(t, page.Events, 2)
	for _, e := range page.Events {
		h, _ := e.Resource.Get("host.name")
		assert.Equal(t, "h1", h, fmt.Sprint(e.ID))
	}
}

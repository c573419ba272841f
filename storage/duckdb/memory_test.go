package duckdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
)

// TestQueryPastMemoryLimit: an aggregate that needs more than DuckDB's
// memory limit (here a tiny one, set when the store is opened again) is
// refused as too costly, an error the service answers with what to
// narrow, not an internal one; a small query on the same store still
// runs.
func TestQueryPastMemoryLimit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inquest.duckdb")
	store, err := duckdb.Open(ctx, duckdb.Config{Path: path}, nil)
	require.NoError(t, err)
	now := time.Now().Truncate(time.Second)
	var evs []domain.Event
	for i := 0; i < 100_000; i++ {
		e := domain.Event{Tenant: "t", Kind: domain.KindSpan, Service: "api", Name: fmt.Sprintf("op-%06d-%s", i, "padding-to-make-names-long-enough-to-cost"),
			TimeUnixNano: now.Add(-time.Duration(i) * time.Millisecond).UnixNano(), DurationNano: int64(i), SampleRate: 1, Status: domain.StatusOK}
		e.ID = e.ContentHash()
		evs = append(evs, e)
	}
	for i := 0; i < len(evs); i += 10_000 {
		require.NoError(t, store.WriteEvents(ctx, evs[i:i+10_000]))
	}
	require.NoError(t, store.Close())
	store, err = duckdb.Open(ctx, duckdb.Config{Path: path, MemoryLimit: "16MB", Threads: 1}, nil)
	require.NoError(t, err)
	defer store.Close()
	r := domain.TimeRange{Start: now.Add(-time.Hour).UnixNano(), End: now.Add(time.Second).UnixNano()}
	name := domain.Field{Kind: domain.FieldColumn, Name: "name"}
	_, err = store.Aggregate(ctx, domain.Query{Tenant: "t", Range: r, GroupBy: []domain.Field{name}, Limit: domain.MaxGroupLimit,
		Aggregations: []domain.Aggregation{{Op: domain.AggP99, Field: &domain.Field{Kind: domain.FieldColumn, Name: "duration_ms"}}, {Op: domain.AggCountDistinct, Field: &name}}})
	require.Error(t, err)
	assert.ErrorIs(t, err, storage.ErrTooCostly)
	res, err := store.Aggregate(ctx, domain.Query{Tenant: "t", Range: r})
	require.NoError(t, err, "a count still fits")
	require.Len(t, res.Rows, 1)
}

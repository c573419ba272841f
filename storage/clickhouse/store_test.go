package clickhouse_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/clickhouse"
	"github.com/inquest/inquest/storage/storetest"
)

var dbSeq atomic.Int64

// openFresh opens a store on its own database of the server at addr.
func openFresh(t *testing.T, addr string) *clickhouse.Store {
	t.Helper()
	dsn := fmt.Sprintf("clickhouse://%s/inquest_test_%d", addr, dbSeq.Add(1))
	s, err := clickhouse.Open(context.Background(), clickhouse.Config{DSN: dsn}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	addr, _ := storetest.StartClickHouse(t)
	storetest.RunEvents(t, func(t *testing.T) storage.EventStore { return openFresh(t, addr) })
}

// The same suite through Distributed tables over a one-shard cluster (the
// server itself), as a cluster deployment queries them.
func TestConformanceDistributed(t *testing.T) {
	addr, _ := storetest.StartClickHouse(t)
	storetest.RunEvents(t, func(t *testing.T) storage.EventStore {
		dsn := fmt.Sprintf("clickhouse://%s/inquest_dist_%d", addr, dbSeq.Add(1))
		s, err := clickhouse.Open(context.Background(), clickhouse.Config{DSN: dsn, Cluster: "inquest_test", NoClusterDDL: true}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func count(t *testing.T, s *clickhouse.Store, query string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, s.Conn().QueryRow(context.Background(), query).Scan(&n))
	return n
}

func TestMigrationsAreIdempotent(t *testing.T) {
	addr, _ := storetest.StartClickHouse(t)
	dsn := fmt.Sprintf("clickhouse://%s/inquest_twice", addr)
	for i := 0; i < 2; i++ {
		s, err := clickhouse.Open(context.Background(), clickhouse.Config{DSN: dsn}, nil)
		require.NoError(t, err, "open %d", i+1)
		assert.False(t, s.Features().LowCardinality, "Debian's 18.16 gets the plain schema")
		assert.Equal(t, uint64(5), count(t, s, "SELECT count() FROM inquest_twice.schema_migrations"), "each migration recorded once")
		require.NoError(t, s.Close())
	}
}

func TestRetriedBatchIsStoredOnce(t *testing.T) {
	addr, _ := storetest.StartClickHouse(t)
	s := openFresh(t, addr)
	ctx := context.Background()
	var evs []domain.Event
	for i := 0; i < 100; i++ {
		evs = append(evs, storetest.Span("t1", "checkout", "op", time.Now().UnixNano()+int64(i), 5, domain.StatusOK))
	}
	// An insert whose acknowledgement was lost is sent again, whole.
	require.NoError(t, s.WriteEvents(ctx, evs))
	require.NoError(t, s.WriteEvents(ctx, evs))
	require.NoError(t, s.Conn().Exec(ctx, "OPTIMIZE TABLE "+s.Database()+".events FINAL"))
	assert.Equal(t, uint64(100), count(t, s, "SELECT count() FROM "+s.Database()+".events"), "the content hash merges the copy away")
}

func TestTraceUsesTheIndex(t *testing.T) {
	addr, _ := storetest.StartClickHouse(t)
	s := openFresh(t, addr)
	ctx := context.Background()
	now := time.Now().UnixNano()
	var evs []domain.Event
	for i := 0; i < 50; i++ {
		e := storetest.Span("t1", "svc", "op", now+int64(i), 1, domain.StatusOK)
		e.TraceID, e.SpanID = fmt.Sprintf("trace-%d", i%5), fmt.Sprint(i)
		e.ID = e.ContentHash()
		evs = append(evs, e)
	}
	require.NoError(t, s.WriteEvents(ctx, evs))
	assert.Equal(t, uint64(5), count(t, s, "SELECT count() FROM "+s.Database()+".trace_index"), "one index row per trace and insert")
	spans, err := s.Trace(ctx, "t1", "trace-3")
	require.NoError(t, err)
	assert.Len(t, spans, 10)
	_, err = s.Trace(ctx, "t2", "trace-3")
	assert.ErrorIs(t, err, storage.ErrNotFound)
}

func TestOpenErrors(t *testing.T) {
	_, err := clickhouse.Open(context.Background(), clickhouse.Config{DSN: "clickhouse://u:hunter2@127.0.0.1:1/db?dial_timeout=bogus"}, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2", "the password stays out of errors")
	_, err = clickhouse.Open(context.Background(), clickhouse.Config{DSN: "clickhouse://127.0.0.1:1/bad-name"}, nil)
	assert.ErrorContains(t, err, `database "bad-name"`)
	port := storetest.FreePort(t)
	_, err = clickhouse.Open(context.Background(), clickhouse.Config{DSN: fmt.Sprintf("clickhouse://127.0.0.1:%d/db", port)}, nil)
	assert.ErrorContains(t, err, "clickhouse")
}

// TestQueryMemoryLimit: every query runs under the configured
// max_memory_usage, and one that needs more fails with ClickHouse's own
// error rather than growing the server.
func TestQueryMemoryLimit(t *testing.T) {
	addr, _ := storetest.StartClickHouse(t)
	dsn := fmt.Sprintf("clickhouse://%s/inquest_mem_%d", addr, dbSeq.Add(1))
	s, err := clickhouse.Open(context.Background(), clickhouse.Config{DSN: dsn, QueryMemory: 20 << 20}, nil)
	require.NoError(t, err)
	defer s.Close()
	var v string
	require.NoError(t, s.Conn().QueryRow(context.Background(), "SELECT value FROM system.settings WHERE name = 'max_memory_usage'").Scan(&v))
	assert.Equal(t, fmt.Sprint(20<<20), v)
	var n uint64
	err = s.Conn().QueryRow(context.Background(), "SELECT uniqExact(number) FROM numbers(10000000)").Scan(&n)
	require.Error(t, err, "a distinct count of 10M values needs more than 20 MiB")
	assert.Contains(t, err.Error(), "Memory limit")

	// Through the store: a distinct count over the tenant's events, told
	// as a query too costly, not an internal error.
	var evs []domain.Event
	now := time.Now().UnixNano()
	for i := 0; i < 300_000; i++ {
		e := storetest.Span("t1", "svc", "op", now+int64(i), 1, domain.StatusOK)
		e.TraceID = fmt.Sprintf("%032x", i)
		e.ID = e.ContentHash()
		evs = append(evs, e)
	}
	w, err := clickhouse.Open(context.Background(), clickhouse.Config{DSN: dsn}, nil) // inserts under no such limit
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, w.WriteEvents(context.Background(), evs))
	_, err = s.Aggregate(context.Background(), domain.Query{Tenant: "t1", Range: domain.TimeRange{Start: now - 1, End: now + 1e9},
		Aggregations: []domain.Aggregation{{Op: domain.AggCountDistinct, Field: &domain.Field{Kind: domain.FieldColumn, Name: "trace_id"}}}})
	require.Error(t, err)
	assert.ErrorIs(t, err, storage.ErrTooCostly)
}

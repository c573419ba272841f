package duckdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/storage/duckdb"
)

// TestQueryStopsWithItsContext: a query whose client went away (its
// context cancelled) stops in DuckDB instead of running to the end. Every
// store query takes the request's context, so this is what a GraphQL
// client that disconnects or times out gets.
func TestQueryStopsWithItsContext(t *testing.T) {
	s, err := duckdb.Open(context.Background(), duckdb.Config{}, nil)
	require.NoError(t, err)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := time.Now()
	go func() {
		var n int64
		// 10^10 pairs: minutes of work unless interrupted.
		done <- s.DB().QueryRowContext(ctx, "SELECT count(*) FROM range(100000) a, range(100000) b WHERE a.range + b.range = -1").Scan(&n)
	}()
	time.AfterFunc(200*time.Millisecond, cancel)
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Less(t, time.Since(started), 10*time.Second)
	case <-time.After(time.Minute):
		t.Fatal("the query went on after its context was cancelled")
	}
}

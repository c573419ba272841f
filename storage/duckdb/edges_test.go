package duckdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
)

// TestPruneRefoldsTheServiceMap: the map follows the spans retention
// keeps — an imported trace keeps its edges, an aged-out one loses them
// once its minutes are folded again.
func TestPruneRefoldsTheServiceMap(t *testing.T) {
	ctx := context.Background()
	s, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	require.NoError(t, err)
	defer s.Close()
	now := time.Now()
	day := 24 * time.Hour
	trace := func(id string, at, taken time.Time) []domain.Event {
		var out []domain.Event
		for i, svc := range []string{"front", "back"} {
			e := domain.Event{Tenant: "a", TimeUnixNano: at.UnixNano() + int64(i), Kind: domain.KindSpan, Service: svc, Name: "op",
				TraceID: id, SpanID: svc, DurationNano: 1e6, Status: domain.StatusOK, SampleRate: 1, IngestedNano: taken.UnixNano()}
			if i == 1 {
				e.ParentSpanID = "front"
			}
			e.ID = e.ContentHash()
			out = append(out, e)
		}
		return out
	}
	old := now.Add(-10 * day)
	require.NoError(t, s.WriteEvents(ctx, append(trace("aged", old, old), trace("imported", old.Add(time.Hour), now.Add(-day))...)))
	_, err = s.FoldEdges(ctx, now.Add(time.Hour).UnixNano())
	require.NoError(t, err)
	calls := func() float64 {
		edges, err := s.ServiceMap(ctx, "a", domain.TimeRange{Start: old.Add(-day).UnixNano(), End: now.UnixNano()})
		require.NoError(t, err)
		require.Len(t, edges, 1)
		return edges[0].Calls
	}
	require.Equal(t, 2.0, calls())

	_, err = s.Prune(ctx, storage.Retention{Default: 7 * day}, now)
	require.NoError(t, err)
	_, err = s.FoldEdges(ctx, now.Add(time.Hour).UnixNano())
	require.NoError(t, err)
	assert.Equal(t, 1.0, calls(), "the imported trace's edge stays, the aged one's goes")
}

// TestFoldInSteps: a backlog of marked minutes is folded a day at a time,
// oldest first, and the map is whole all along.
func TestFoldInSteps(t *testing.T) {
	ctx := context.Background()
	s, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	require.NoError(t, err)
	defer s.Close()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var evs []domain.Event
	for i := 0; i < 1500; i++ { // a parent and child each minute
		for j, svc := range []string{"front", "back"} {
			e := domain.Event{Tenant: "a", TimeUnixNano: base.Add(time.Duration(i)*time.Minute).UnixNano() + int64(j), Kind: domain.KindSpan,
				Service: svc, Name: "op", TraceID: fmt.Sprint("t", i), SpanID: svc, DurationNano: 1e6, Status: domain.StatusOK, SampleRate: 1}
			if j == 1 {
				e.ParentSpanID = "front"
			}
			e.ID = e.ContentHash()
			evs = append(evs, e)
		}
	}
	require.NoError(t, s.WriteEvents(ctx, evs))
	r := domain.TimeRange{Start: base.UnixNano(), End: base.Add(26 * time.Hour).UnixNano()}
	settled := time.Now().Add(time.Hour).UnixNano()
	for _, want := range []int{storage.MaxFoldMinutes, 1502 - storage.MaxFoldMinutes, 0} {
		n, err := s.FoldEdges(ctx, settled)
		require.NoError(t, err)
		assert.Equal(t, want, n)
		edges, err := s.ServiceMap(ctx, "a", r)
		require.NoError(t, err)
		require.Len(t, edges, 1)
		assert.Equal(t, 1500.0, edges[0].Calls, "whole after a fold of %d minutes", n)
	}
}

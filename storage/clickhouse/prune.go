package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/inquest/inquest/storage"
)

var _ storage.Pruner = (*Store)(nil)

// age is the time an event's retention counts from: when Inquest took it
// in, or its own time for rows written before ingested_ts existed.
const age = "if(ingested_ts > 0, ingested_ts, ts)"

// pruneRefoldAfter is how long after a prune the service map's minutes of
// the pruned spans are folded again: a delete is a mutation that rewrites
// the parts in the background.
const pruneRefoldAfter = 5 * time.Minute

// Prune deletes the events older than their tenant's retention, by when
// they were taken in, so that an import of last year's traces is kept for
// the retention after the import (a TTL on the event time would drop it at
// once). A delete is a mutation: ClickHouse rewrites the parts in the
// background, so the rows go a little later. It returns the rows it asked
// to delete.
func (s *Store) Prune(ctx context.Context, r storage.Retention, now time.Time) (int64, error) {
	exceptions := make([]string, 0, len(r.Tenants))
	for t := range r.Tenants {
		exceptions = append(exceptions, t)
	}
	sort.Strings(exceptions)
	var deleted int64
	for _, t := range exceptions {
		if keep := r.Tenants[t]; keep > 0 {
			n, err := s.deleteOlder(ctx, "tenant_id = ?", now.Add(-keep), t)
			deleted += n
			if err != nil {
				return deleted, err
			}
		}
	}
	if r.Default <= 0 {
		return deleted, nil
	}
	where, args := "1", []any{}
	if len(exceptions) > 0 {
		where = "tenant_id NOT IN (?" + strings.Repeat(", ?", len(exceptions)-1) + ")"
		for _, t := range exceptions {
			args = append(args, t)
		}
	}
	n, err := s.deleteOlder(ctx, where, now.Add(-r.Default), args...)
	return deleted + n, err
}

// deleteOlder counts the events matching where that were taken in before
// cutoff and, if there are any, deletes them: a mutation rewrites parts,
// so none is started for nothing.
func (s *Store) deleteOlder(ctx context.Context, where string, cutoff time.Time, args ...any) (int64, error) {
	args = append(args, cutoff.UnixNano())
	cond := where + " AND " + age + " < ?"
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".events WHERE "+cond, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	// The service map's minutes of the spans going are folded again from
	// what is left, once the mutation has had time to rewrite the parts
	// (their touch is set that far ahead: a fold waits for it).
	if err := s.conn.Exec(ctx, `INSERT INTO `+s.db+`.edge_marks (tenant_id, minute, touched)
		SELECT DISTINCT tenant_id, intDiv(ts, 60000000000) * 60000000000 + d, ? FROM `+s.db+`.events
		ARRAY JOIN [toInt64(-60000000000), toInt64(0), toInt64(60000000000)] AS d WHERE kind = 'span' AND trace_id != '' AND `+cond,
		append([]any{time.Now().Add(pruneRefoldAfter).UnixNano()}, args...)...); err != nil {
		return 0, fmt.Errorf("prune events: mark the service map's minutes: %w", err)
	}
	// Under a cluster the mutation goes to the shards' local tables, on
	// every shard with ON CLUSTER; without cluster DDL (no Keeper) only on
	// the server Inquest is connected to, like the migrations.
	table, onCluster := s.db+".events", ""
	if s.cluster != "" {
		table = s.db + ".events_local"
	}
	if s.clusterDDL {
		onCluster = " ON CLUSTER " + s.cluster
	}
	if err := s.conn.Exec(ctx, "ALTER TABLE "+table+onCluster+" DELETE WHERE "+cond, args...); err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return int64(n), nil
}

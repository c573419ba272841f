package duckdb

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/inquest/inquest/storage"
)

// prunable is each table with the time its retention counts from.
var prunable = []struct{ table, age string }{
	{"events", "CASE WHEN ingested_ts > 0 THEN ingested_ts ELSE ts END"},
	{"metric_samples", "CASE WHEN ingested_ts > 0 THEN ingested_ts ELSE ts END"},
	{"dead_letters", "ts"},
	{"audit_log", "ts"},
	{"usage_hours", "hour"},
}

var _ storage.Pruner = (*Store)(nil)

// pruneBatch is the most rows one delete takes (a variable for tests).
var pruneBatch int64 = 100_000

// Prune deletes, table by table, the rows older than their tenant's
// retention, then checkpoints so that the file gives the space back.
func (s *Store) Prune(ctx context.Context, r storage.Retention, now time.Time) (int64, error) {
	var deleted int64
	exceptions := make([]string, 0, len(r.Tenants))
	for t := range r.Tenants {
		exceptions = append(exceptions, t)
	}
	sort.Strings(exceptions)
	// Deletes go pruneBatch rows a transaction: one statement over months
	// of events would hold all of them in its undo log at once, and the
	// writers' appends would wait for it.
	del := func(table, age, where string, args ...any) error {
		var minutes []storage.MinuteMark
		if table == "events" {
			var err error
			if minutes, err = s.spanMinutes(ctx, where+" AND "+age+" < ?", args...); err != nil {
				return err
			}
			// The service map's minutes of the spans gone are folded again
			// from what is left (edges are not aged on their own: imported
			// history keeps its map as long as its spans).
			defer func() {
				if err := s.markMinutes(ctx, minutes, now); err != nil {
					s.logger.Warn("service map minutes of pruned spans not marked", "err", err)
				}
			}()
		}
		for {
			res, err := s.db.ExecContext(ctx, "DELETE FROM "+table+" WHERE rowid IN (SELECT rowid FROM "+table+
				" WHERE "+where+" AND "+age+" < ? LIMIT "+fmt.Sprint(pruneBatch)+")", args...)
			if err != nil {
				return fmt.Errorf("prune %s: %w", table, err)
			}
			n, _ := res.RowsAffected()
			deleted += n
			if n < pruneBatch {
				return nil
			}
		}
	}
	for _, p := range prunable {
		for _, t := range exceptions {
			if keep := r.Tenants[t]; keep > 0 {
				if err := del(p.table, p.age, "tenant_id = ?", t, now.Add(-keep).UnixNano()); err != nil {
					return deleted, err
				}
			}
		}
		if r.Default <= 0 {
			continue
		}
		where, args := "true", []any{}
		if len(exceptions) > 0 {
			where = "tenant_id NOT IN (?" + strings.Repeat(", ?", len(exceptions)-1) + ")"
			for _, t := range exceptions {
				args = append(args, t)
			}
		}
		if err := del(p.table, p.age, where, append(args, now.Add(-r.Default).UnixNano())...); err != nil {
			return deleted, err
		}
	}
	if deleted > 0 {
		if _, err := s.pruneResources(ctx); err != nil {
			return deleted, err
		}
		if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
			return deleted, fmt.Errorf("prune: checkpoint: %w", err)
		}
	}
	return deleted, nil
}

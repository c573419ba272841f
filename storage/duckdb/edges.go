package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// edgeRowsSQL joins each span whose own time is in the range to its parent
// in the same trace (looked for from a minute before the range to a minute
// after it); an edge is a parent and child in different services. Client
// spans whose callee is not instrumented (a database, a third-party API)
// name it in peer.service, and give an edge to that peer when no child
// span answers them. Rows are per minute of the child and duration bucket
// (storage.EdgeBucket).
const edgeRowsSQL = `WITH c AS (
	SELECT ts, trace_id, span_id, parent_span_id, service, status, COALESCE(duration_ns, 0) AS duration_ns, sample_rate,
		attr_vals[list_position(attr_keys, 'peer.service')] AS peer
	FROM events WHERE tenant_id = $1 AND ts >= $2 AND ts < $3 AND kind = 'span' AND trace_id IS NOT NULL
), p AS (
	SELECT trace_id, span_id, parent_span_id, service
	FROM events WHERE tenant_id = $1 AND ts >= $2 - 60000000000 AND ts < $3 + 60000000000 AND kind = 'span' AND trace_id IS NOT NULL
), e AS (
	SELECT c.ts, p.service AS source, c.service AS target, c.status, c.duration_ns, c.sample_rate
	FROM c JOIN p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
	WHERE p.service != c.service
	UNION ALL
	SELECT c.ts, c.service, c.peer, c.status, c.duration_ns, c.sample_rate FROM c
	WHERE c.peer IS NOT NULL AND c.peer != c.service
		AND NOT EXISTS (SELECT 1 FROM p k WHERE k.trace_id = c.trace_id AND k.parent_span_id = c.span_id)
)
SELECT ts // 60000000000 * 60000000000 AS minute, source, target,
	CAST(floor(ln(greatest(duration_ns, 1)) / ln(1.0905077326652577)) AS INTEGER) AS bucket,
	CAST(SUM(sample_rate) AS DOUBLE) AS calls, CAST(COALESCE(SUM(CASE WHEN status = 'error' THEN sample_rate END), 0) AS DOUBLE) AS errors
FROM e GROUP BY ALL`

// querier is a connection or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ServiceMap reads the folded minutes of the range from the per-minute
// edges and joins the rest live (its partial first and last minutes, and
// the minutes written to since they were folded), in one snapshot.
func (s *Store) ServiceMap(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceEdge, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("service map: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	marked, err := markedMinutes(ctx, tx, tenant, r)
	if err != nil {
		return nil, err
	}
	folded, live := storage.EdgeMinutes(r, marked)
	hours, minutes := storage.EdgeHours(folded)
	var rows []storage.EdgeRow
	for _, h := range hours {
		if rows, err = foldedRows(ctx, tx, "edge_hours", "hour", tenant, h, rows); err != nil {
			return nil, err
		}
	}
	for _, m := range minutes {
		if rows, err = foldedRows(ctx, tx, "edges", "minute", tenant, m, rows); err != nil {
			return nil, err
		}
	}
	for _, l := range live {
		if rows, err = liveRows(ctx, tx, tenant, l, rows); err != nil {
			return nil, err
		}
	}
	return storage.MergeEdges(rows), nil
}

func markedMinutes(ctx context.Context, q querier, tenant string, r domain.TimeRange) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT minute FROM edge_marks WHERE tenant_id = ? AND minute >= ? AND minute < ? ORDER BY minute`,
		tenant, r.Start-storage.EdgeMinute, r.End)
	if err != nil {
		return nil, fmt.Errorf("service map: marked minutes: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var m int64
		if err := rows.Scan(&m); err != nil {
			return nil, fmt.Errorf("service map: marked minutes: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// foldedRows reads the edges of a range from the minutes' or the hours'
// rows (table and its time column are constants).
func foldedRows(ctx context.Context, q querier, table, column, tenant string, r domain.TimeRange, out []storage.EdgeRow) ([]storage.EdgeRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT source, target, bucket, SUM(calls), SUM(errors) FROM `+table+`
		WHERE tenant_id = ? AND `+column+` >= ? AND `+column+` < ? GROUP BY source, target, bucket`, tenant, r.Start, r.End)
	if err != nil {
		return nil, fmt.Errorf("service map: folded minutes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e storage.EdgeRow
		if err := rows.Scan(&e.Source, &e.Target, &e.Bucket, &e.Calls, &e.Errors); err != nil {
			return nil, fmt.Errorf("service map: folded minutes: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// liveRows joins the spans of a range.
func liveRows(ctx context.Context, q querier, tenant string, r domain.TimeRange, out []storage.EdgeRow) ([]storage.EdgeRow, error) {
	rows, err := q.QueryContext(ctx, edgeRowsSQL, tenant, r.Start, r.End)
	if err != nil {
		return nil, fmt.Errorf("service map: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e storage.EdgeRow
		var m int64
		if err := rows.Scan(&m, &e.Source, &e.Target, &e.Bucket, &e.Calls, &e.Errors); err != nil {
			return nil, fmt.Errorf("service map: scan: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// marks are the minutes a batch of spans touches, appended with it.
func (s *Store) marks(events []domain.Event) appendTo {
	return appendTo{"edge_marks", func(a *duckdb.Appender) error {
		now := time.Now().UnixNano()
		for tenant, minutes := range storage.TouchedMinutes(events) {
			for m := range minutes {
				if err := a.AppendRow(tenant, m, now); err != nil {
					return err
				}
			}
		}
		return nil
	}}
}

var _ storage.EdgeFolder = (*Store)(nil)

// FoldEdges recomputes, in one transaction, the edges of every minute
// whose last write was before settled, and clears those marks (a write
// since leaves its own mark, folded next time).
func (s *Store) FoldEdges(ctx context.Context, settled int64) (int, error) {
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("fold edges: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, `SELECT tenant_id, minute FROM (
		SELECT tenant_id, minute FROM edge_marks GROUP BY tenant_id, minute HAVING MAX(touched) < ? ORDER BY minute LIMIT ?
	) ORDER BY tenant_id, minute`, settled, storage.MaxFoldMinutes)
	if err != nil {
		return 0, fmt.Errorf("fold edges: marks: %w", err)
	}
	var marks []storage.MinuteMark
	for rows.Next() {
		var m storage.MinuteMark
		if err := rows.Scan(&m.Tenant, &m.Minute); err != nil {
			rows.Close()
			return 0, fmt.Errorf("fold edges: marks: %w", err)
		}
		marks = append(marks, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("fold edges: marks: %w", err)
	}
	type hour struct {
		tenant string
		start  int64
	}
	var hours []hour
	seen := map[hour]bool{}
	for _, run := range storage.MinuteRuns(marks) {
		if err := foldRun(ctx, tx, run, settled); err != nil {
			return 0, err
		}
		for _, h := range run.HoursOf() {
			if k := (hour{run.Tenant, h}); !seen[k] {
				seen[k] = true
				hours = append(hours, k)
			}
		}
	}
	for _, h := range hours {
		if _, err := tx.ExecContext(ctx, `DELETE FROM edge_hours WHERE tenant_id = ? AND hour = ?`, h.tenant, h.start); err != nil {
			return 0, fmt.Errorf("fold edges: hours: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO edge_hours SELECT tenant_id, $2, source, target, bucket, SUM(calls), SUM(errors)
			FROM edges WHERE tenant_id = $1 AND minute >= $2 AND minute < $3 GROUP BY tenant_id, source, target, bucket`,
			h.tenant, h.start, h.start+storage.EdgeHour); err != nil {
			return 0, fmt.Errorf("fold edges: hours: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("fold edges: %w", err)
	}
	return len(marks), nil
}

// foldRun replaces the edges of a tenant's run of minutes with those
// joined now and clears their marks.
func foldRun(ctx context.Context, tx *sql.Tx, run storage.MinuteRun, settled int64) error {
	end := run.Start + int64(run.Minutes)*storage.EdgeMinute
	if _, err := tx.ExecContext(ctx, `DELETE FROM edges WHERE tenant_id = ? AND minute >= ? AND minute < ?`, run.Tenant, run.Start, end); err != nil {
		return fmt.Errorf("fold edges: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO edges SELECT $1, minute, source, target, bucket, calls, errors FROM (`+edgeRowsSQL+`)`,
		run.Tenant, run.Start, end); err != nil {
		return fmt.Errorf("fold edges: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM edge_marks WHERE tenant_id = ? AND minute >= ? AND minute < ? AND touched < ?`,
		run.Tenant, run.Start, end, settled); err != nil {
		return fmt.Errorf("fold edges: %w", err)
	}
	return nil
}

// RemarkEdges marks every minute holding spans to be folded again: after
// rows were loaded around WriteEvents (benchmarks' bulk loads).
func (s *Store) RemarkEdges(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO edge_marks SELECT DISTINCT tenant_id, ts // 60000000000 * 60000000000, 0 FROM events WHERE kind = 'span'`)
	if err != nil {
		return fmt.Errorf("remark edges: %w", err)
	}
	return nil
}

// spanMinutes lists the minutes holding spans that match where.
func (s *Store) spanMinutes(ctx context.Context, where string, args ...any) ([]storage.MinuteMark, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT tenant_id, ts // 60000000000 * 60000000000 FROM events
		WHERE kind = 'span' AND trace_id IS NOT NULL AND `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("minutes of spans: %w", err)
	}
	defer rows.Close()
	var out []storage.MinuteMark
	for rows.Next() {
		var m storage.MinuteMark
		if err := rows.Scan(&m.Tenant, &m.Minute); err != nil {
			return nil, fmt.Errorf("minutes of spans: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// markMinutes marks minutes (and their neighbours) to be folded again.
func (s *Store) markMinutes(ctx context.Context, minutes []storage.MinuteMark, now time.Time) error {
	if len(minutes) == 0 {
		return nil
	}
	return s.appendAll(ctx, "edge_marks", func(a *duckdb.Appender) error {
		for _, m := range minutes {
			for _, d := range []int64{-storage.EdgeMinute, 0, storage.EdgeMinute} {
				if err := a.AppendRow(m.Tenant, m.Minute+d, now.UnixNano()); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

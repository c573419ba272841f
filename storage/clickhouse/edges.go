package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// edgeRowsSQL joins each span whose own time is in the range to its parent
// in the same trace (looked for from a minute before the range to a minute
// after it): the embedded store's edges, written without WITH subqueries
// and with JOIN ... USING, which 18.16 needs. Client spans whose callee is
// not instrumented name it in peer.service and give an edge to that peer
// when no child span answers them. Rows are per minute of the child and
// duration bucket (storage.EdgeBucket).
const edgeRowsSQL = `SELECT intDiv(ts, 60000000000) * 60000000000 AS minute, source, target,
	toInt32(floor(log(greatest(ifNull(duration_ns, 0), 1)) / log(1.0905077326652577))) AS bucket,
	toFloat64(sum(sample_rate)) AS calls,
	toFloat64(sumIf(sample_rate, status = 'error')) AS errors
FROM (
	SELECT ts, source, target, status, duration_ns, sample_rate FROM (
		SELECT ts, trace_id, parent_span_id AS link, service AS target, status, duration_ns, sample_rate
		FROM {db}.events PREWHERE ts >= ? AND ts < ?
		WHERE tenant_id = ? AND kind = 'span' AND trace_id != '' AND parent_span_id != ''
	) ALL INNER JOIN (
		SELECT trace_id, span_id AS link, service AS source
		FROM {db}.events PREWHERE ts >= ? AND ts < ?
		WHERE tenant_id = ? AND kind = 'span' AND trace_id != ''
	) USING (trace_id, link)
	WHERE source != target
	UNION ALL
	SELECT ts, service AS source, attr_vals[indexOf(attr_keys, 'peer.service')] AS target, status, duration_ns, sample_rate
	FROM {db}.events PREWHERE ts >= ? AND ts < ?
	WHERE tenant_id = ? AND kind = 'span' AND trace_id != ''
		AND has(attr_keys, 'peer.service') AND target != service
		AND (trace_id, span_id) {notIn} (
			SELECT trace_id, parent_span_id FROM {db}.events PREWHERE ts >= ? AND ts < ?
			WHERE tenant_id = ? AND kind = 'span' AND parent_span_id != '')
)
GROUP BY minute, source, target, bucket`

// edgeRows is the live join's query and arguments over a range (one query
// a range: an OR of ranges in different days would read all of those days
// for each).
func (s *Store) edgeRows(tenant string, r domain.TimeRange) (string, []any) {
	// Under a cluster the subquery on the Distributed table must be GLOBAL:
	// ClickHouse refuses a distributed subquery inside a distributed query
	// (and 18.16 cannot be sent distributed_product_mode as a setting).
	notIn := "NOT IN"
	if s.cluster != "" {
		notIn = "GLOBAL NOT IN"
	}
	wideStart, wideEnd := r.Start-storage.EdgeParentLookback, r.End+storage.EdgeParentLookback
	args := []any{r.Start, r.End, tenant, wideStart, wideEnd, tenant, r.Start, r.End, tenant, wideStart, wideEnd, tenant}
	return strings.NewReplacer("{db}", s.db, "{notIn}", notIn).Replace(edgeRowsSQL), args
}

// ServiceMap reads the folded minutes of the range from the per-minute
// edges and joins the rest live: its partial first and last minutes and
// the minutes written to since they were last folded.
func (s *Store) ServiceMap(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceEdge, error) {
	v, err := s.serviceMap(ctx, tenant, r)
	return v, stopped(err)
}

func (s *Store) serviceMap(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceEdge, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	marked, err := s.toFold(ctx, "tenant_id = ? AND minute >= ? AND minute < ?", tenant, r.Start-storage.EdgeMinute, r.End)
	if err != nil {
		return nil, fmt.Errorf("service map: %w", err)
	}
	minutes := make([]int64, len(marked))
	for i, m := range marked {
		minutes[i] = m.Minute
	}
	folded, live := storage.EdgeMinutes(r, minutes)
	hours, mins := storage.EdgeHours(folded)
	var rows []storage.EdgeRow
	for _, h := range hours {
		if rows, err = s.hourRows(ctx, rows, tenant, h); err != nil {
			return nil, err
		}
	}
	for _, m := range mins {
		// The latest fold of each row, without FINAL (one thread on 18.16).
		q := `SELECT source, target, bucket, sum(c), sum(e) FROM (
			SELECT minute, source, target, bucket, argMax(calls, version) AS c, argMax(errors, version) AS e
			FROM ` + s.db + `.edges WHERE tenant_id = ? AND minute >= ? AND minute < ?
			GROUP BY minute, source, target, bucket
		) GROUP BY source, target, bucket`
		if rows, err = s.scanEdges(ctx, rows, false, q, tenant, m.Start, m.End); err != nil {
			return nil, err
		}
	}
	for _, l := range live {
		q, args := s.edgeRows(tenant, l)
		if rows, err = s.scanEdges(ctx, rows, true, q, args...); err != nil {
			return nil, err
		}
	}
	return storage.MergeEdges(rows), nil
}

func (s *Store) scanEdges(ctx context.Context, out []storage.EdgeRow, withMinute bool, q string, args ...any) ([]storage.EdgeRow, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("service map: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e storage.EdgeRow
		var m int64
		var bucket int32
		dest := []any{&e.Source, &e.Target, &bucket, &e.Calls, &e.Errors}
		if withMinute {
			dest = append([]any{&m}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("service map: scan: %w", err)
		}
		e.Bucket = int(bucket)
		out = append(out, e)
	}
	return out, rows.Err()
}

// hourRows reads whole hours: each edge's buckets summed over the hours
// with sumMap (the latest fold of each hour), its errors on its first
// bucket's row.
func (s *Store) hourRows(ctx context.Context, out []storage.EdgeRow, tenant string, r domain.TimeRange) ([]storage.EdgeRow, error) {
	q := `SELECT source, target, tupleElement(m, 1), tupleElement(m, 2), e FROM (
		SELECT source, target, sumMap(b, c) AS m, sum(e) AS e FROM (
			SELECT hour, source, target, argMax(buckets, version) AS b, argMax(calls, version) AS c, argMax(errors, version) AS e
			FROM ` + s.db + `.edge_hours WHERE tenant_id = ? AND hour >= ? AND hour < ? GROUP BY hour, source, target
		) GROUP BY source, target)`
	rows, err := s.conn.Query(ctx, q, tenant, r.Start, r.End)
	if err != nil {
		return nil, fmt.Errorf("service map: hours: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src, dst string
		var buckets []int32
		var calls []float64
		var errs float64
		if err := rows.Scan(&src, &dst, &buckets, &calls, &errs); err != nil {
			return nil, fmt.Errorf("service map: hours: %w", err)
		}
		for i := range buckets {
			e := storage.EdgeRow{Source: src, Target: dst, Bucket: int(buckets[i]), Calls: calls[i]}
			if i == 0 {
				e.Errors = errs
			}
			out = append(out, e)
		}
	}
	return out, rows.Err()
}

// foldMark is a minute to fold and the latest touch the fold covers.
type foldMark struct {
	storage.MinuteMark
	touched int64
}

// toFold lists the minutes matching where whose latest touch is newer
// than their latest fold, sorted by tenant then minute.
func (s *Store) toFold(ctx context.Context, where string, args ...any) ([]foldMark, error) {
	q := `SELECT tenant_id, minute, t FROM (
		SELECT tenant_id, minute, max(touched) AS t FROM ` + s.db + `.edge_marks WHERE ` + where + ` GROUP BY tenant_id, minute
	) ANY LEFT JOIN (
		SELECT tenant_id, minute, max(folded) AS f FROM ` + s.db + `.edge_folds WHERE ` + where + ` GROUP BY tenant_id, minute
	) USING (tenant_id, minute) WHERE t > f ORDER BY tenant_id, minute`
	rows, err := s.conn.Query(ctx, q, append(append([]any{}, args...), args...)...)
	if err != nil {
		return nil, fmt.Errorf("minutes to fold: %w", err)
	}
	defer rows.Close()
	var out []foldMark
	for rows.Next() {
		var m foldMark
		if err := rows.Scan(&m.Tenant, &m.Minute, &m.touched); err != nil {
			return nil, fmt.Errorf("minutes to fold: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// markEdges records the minutes a batch of spans touches. It goes before
// the batch: a mark without its spans (a failed insert) costs one more
// fold, spans without their mark would never be folded.
func (s *Store) markEdges(ctx context.Context, events []domain.Event) error {
	touched := storage.TouchedMinutes(events)
	if len(touched) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".edge_marks (tenant_id, minute, touched)")
	if err != nil {
		return err
	}
	defer func() { _ = batch.Abort() }()
	now := time.Now().UnixNano()
	for tenant, minutes := range touched {
		for m := range minutes {
			if err := batch.Append(tenant, m, now); err != nil {
				return err
			}
		}
	}
	return batch.Send()
}

var _ storage.EdgeFolder = (*Store)(nil)

// FoldEdges folds every minute whose latest touch was before settled and
// is newer than its latest fold: its edges are inserted again with that
// touch as their version (replacing the older fold's), then the fold is
// recorded. A fold cut short is done again whole the next time.
func (s *Store) FoldEdges(ctx context.Context, settled int64) (int, error) {
	marks, err := s.toFold(ctx, "1")
	if err != nil {
		return 0, fmt.Errorf("fold edges: %w", err)
	}
	var ready []storage.MinuteMark
	version := map[storage.MinuteMark]int64{}
	sort.SliceStable(marks, func(i, j int) bool { return marks[i].Minute < marks[j].Minute })
	for _, m := range marks {
		if m.touched < settled && len(ready) < storage.MaxFoldMinutes {
			ready = append(ready, m.MinuteMark)
			version[m.MinuteMark] = m.touched
		}
	}
	sort.Slice(ready, func(i, j int) bool {
		if ready[i].Tenant != ready[j].Tenant {
			return ready[i].Tenant < ready[j].Tenant
		}
		return ready[i].Minute < ready[j].Minute
	})
	for _, run := range storage.MinuteRuns(ready) {
		if err := s.foldRun(ctx, run, version); err != nil {
			return 0, stopped(err)
		}
	}
	return len(ready), nil
}

// foldHours sums the hours of a run from their minutes' rows, before the
// run's minutes are recorded as folded: until then a reader joins those
// minutes live and reads no hour they are in from the hourly rows.
func (s *Store) foldHours(ctx context.Context, run storage.MinuteRun) error {
	for _, h := range run.HoursOf() {
		insert := `INSERT INTO ` + s.db + `.edge_hours (tenant_id, hour, source, target, buckets, calls, errors, version)
			SELECT ?, ?, source, target, groupArray(bucket), groupArray(c), sum(e), ? FROM (
				SELECT source, target, bucket, sum(c) AS c, sum(e) AS e FROM (
					SELECT minute, source, target, bucket, argMax(calls, version) AS c, argMax(errors, version) AS e
					FROM ` + s.db + `.edges WHERE tenant_id = ? AND minute >= ? AND minute < ?
					GROUP BY minute, source, target, bucket
				) GROUP BY source, target, bucket
			) GROUP BY source, target`
		if err := s.conn.Exec(ctx, insert, run.Tenant, h, time.Now().UnixNano(), run.Tenant, h, h+storage.EdgeHour); err != nil {
			return fmt.Errorf("fold edges: hour: %w", err)
		}
	}
	return nil
}

func (s *Store) foldRun(ctx context.Context, run storage.MinuteRun, version map[storage.MinuteMark]int64) error {
	end := run.Start + int64(run.Minutes)*storage.EdgeMinute
	var ver int64
	for i := 0; i < run.Minutes; i++ {
		ver = max(ver, version[storage.MinuteMark{Tenant: run.Tenant, Minute: run.Start + int64(i)*storage.EdgeMinute}])
	}
	q, args := s.edgeRows(run.Tenant, domain.TimeRange{Start: run.Start, End: end})
	insert := `INSERT INTO ` + s.db + `.edges (tenant_id, minute, source, target, bucket, calls, errors, version)
		SELECT ?, minute, source, target, bucket, calls, errors, ? FROM (` + q + `)`
	if s.cluster != "" {
		ctx = s.syncInsert(ctx)
	}
	if err := s.conn.Exec(ctx, insert, append([]any{run.Tenant, ver}, args...)...); err != nil {
		return fmt.Errorf("fold edges: %w", err)
	}
	if err := s.foldHours(ctx, run); err != nil {
		return err
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".edge_folds (tenant_id, minute, folded)")
	if err != nil {
		return fmt.Errorf("fold edges: %w", err)
	}
	defer func() { _ = batch.Abort() }()
	for i := 0; i < run.Minutes; i++ {
		m := storage.MinuteMark{Tenant: run.Tenant, Minute: run.Start + int64(i)*storage.EdgeMinute}
		if err := batch.Append(m.Tenant, m.Minute, version[m]); err != nil {
			return fmt.Errorf("fold edges: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("fold edges: %w", err)
	}
	return nil
}

// RemarkEdges marks every minute holding spans to be folded again: after
// rows were loaded around WriteEvents (benchmarks' bulk loads).
func (s *Store) RemarkEdges(ctx context.Context) error {
	err := s.conn.Exec(ctx, `INSERT INTO `+s.db+`.edge_marks (tenant_id, minute, touched)
		SELECT DISTINCT tenant_id, intDiv(ts, 60000000000) * 60000000000, ? FROM `+s.db+`.events WHERE kind = 'span'`, time.Now().UnixNano()-1)
	if err != nil {
		return fmt.Errorf("remark edges: %w", err)
	}
	return nil
}

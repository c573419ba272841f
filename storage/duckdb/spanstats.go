package duckdb

import (
	"context"
	"fmt"

	"github.com/inquest/inquest/domain"
)

// spanStatsSQL joins each span to the sum of its children; a span whose
// children are all in one other service is a hop, counted to that service
// in a row of its caller's.
const spanStatsSQL = `WITH s AS (
	SELECT ts, trace_id, span_id, parent_span_id, service, status, COALESCE(duration_ns, 0) AS duration_ns, sample_rate
	FROM events WHERE tenant_id = ? AND ts >= ? AND ts < ? AND kind = 'span'
), k AS (
	SELECT trace_id, parent_span_id AS pid, SUM(duration_ns) AS child_ns, COUNT(*) AS child_n,
		MAX(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS child_err, MIN(service) AS child_svc,
		MAX(service) AS child_svc_max
	FROM s WHERE trace_id IS NOT NULL AND parent_span_id IS NOT NULL AND parent_span_id != '' GROUP BY 1, 2
), x AS (
	SELECT COALESCE(k.child_n, 0) >= 1 AND k.child_svc = k.child_svc_max AND k.child_svc != s.service AS hop, s.ts, s.service, k.child_svc, s.status,
		COALESCE(k.child_err, 0) AS child_err, s.sample_rate AS w, GREATEST(s.duration_ns - COALESCE(k.child_ns, 0), 0) AS self
	FROM s LEFT JOIN k ON s.trace_id = k.trace_id AND s.span_id = k.pid
)
SELECT CASE WHEN hop THEN child_svc ELSE service END AS owner, CASE WHEN hop THEN service ELSE '' END AS caller,
	CAST(COALESCE(SUM(CASE WHEN NOT hop THEN w END), 0) AS DOUBLE),
	CAST(COALESCE(SUM(CASE WHEN NOT hop AND status = 'error' THEN w END), 0) AS DOUBLE),
	CAST(COALESCE(SUM(CASE WHEN status = 'error' AND child_err = 0 THEN w END), 0) AS DOUBLE),
	CAST(COALESCE(SUM(CASE WHEN NOT hop THEN w * self END), 0) AS DOUBLE),
	CAST(COALESCE(SUM(CASE WHEN hop THEN w END), 0) AS DOUBLE),
	CAST(COALESCE(SUM(CASE WHEN hop THEN w * self END), 0) AS DOUBLE),
	MIN(ts), MAX(ts)
FROM x GROUP BY owner, caller ORDER BY owner, caller`

// SpanStats gives each service's own figures in the range.
func (s *Store) SpanStats(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.SpanStats, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	rows, err := s.db.QueryContext(ctx, spanStatsSQL, tenant, r.Start, r.End)
	if err != nil {
		return nil, fmt.Errorf("span stats: %w", err)
	}
	defer rows.Close()
	var out []domain.SpanStats
	for rows.Next() {
		var st domain.SpanStats
		if err := rows.Scan(&st.Service, &st.Caller, &st.Spans, &st.Errors, &st.OwnErrors, &st.SelfNanos, &st.Hops, &st.GapNanos, &st.FirstNano, &st.LastNano); err != nil {
			return nil, fmt.Errorf("span stats: scan: %w", err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/inquest/inquest/domain"
)

// spanStatsSQL is the embedded store's span statistics without WITH and
// with JOIN ... USING, which 18.16 needs. A span without children gets the
// join's defaults (0, ”), so it is no hop.
const spanStatsSQL = `SELECT owner, caller,
	toFloat64(sumIf(w, NOT hop)),
	toFloat64(sumIf(w, NOT hop AND status = 'error')),
	toFloat64(sumIf(w, status = 'error' AND child_err = 0)),
	toFloat64(sumIf(w * self, NOT hop)),
	toFloat64(sumIf(w, hop)),
	toFloat64(sumIf(w * self, hop)),
	min(ts), max(ts)
FROM (
	SELECT if(hop, child_svc, service) AS owner, if(hop, service, '') AS caller, ts, hop, status, child_err, w, greatest(duration - child_ns, 0) AS self
	FROM (
		SELECT ts, service, status, duration, w, child_ns, child_err, child_svc, child_svc_max, child_n >= 1 AND child_svc = child_svc_max AND child_svc != service AS hop
		FROM (
			SELECT ts, trace_id, span_id AS link, service, status, ifNull(duration_ns, 0) AS duration, sample_rate AS w
			FROM {db}.events WHERE tenant_id = ? AND ts >= ? AND ts < ? AND kind = 'span'
		) ANY LEFT JOIN (
			SELECT trace_id, parent_span_id AS link, sum(ifNull(duration_ns, 0)) AS child_ns, count() AS child_n,
				max(status = 'error') AS child_err, min(service) AS child_svc, max(service) AS child_svc_max
			FROM {db}.events WHERE tenant_id = ? AND ts >= ? AND ts < ? AND kind = 'span' AND trace_id != '' AND parent_span_id != ''
			GROUP BY trace_id, link
		) USING (trace_id, link)
	)
)
GROUP BY owner, caller ORDER BY owner, caller`

// SpanStats gives each service's own figures in the range.
func (s *Store) SpanStats(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.SpanStats, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	rows, err := s.conn.Query(ctx, strings.ReplaceAll(spanStatsSQL, "{db}", s.db), tenant, r.Start, r.End, tenant, r.Start, r.End)
	if err != nil {
		return nil, stopped(fmt.Errorf("span stats: %w", err))
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
	return out, stopped(rows.Err())
}

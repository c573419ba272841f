package duckdb

import (
	"context"
	"fmt"

	"github.com/inquest/inquest/domain"
)

// Traces lists the newest traces with a span matching the query, each
// summed up from its spans in the range widened by domain.TraceSlack, in
// one statement: the matching trace ids first (bounded by the limit), then
// only their spans.
func (s *Store) Traces(ctx context.Context, q domain.TraceQuery) ([]domain.TraceSummary, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	b := newBuilder()
	b.w("WITH m AS (SELECT trace_id, max(ts) AS last FROM (SELECT * FROM ", readsResource(nil, q.Filters).Events())
	if err := b.where(q.Tenant, q.Range, q.Filters); err != nil {
		return nil, err
	}
	b.w(" AND kind = 'span' AND COALESCE(trace_id, '') <> '') GROUP BY trace_id ORDER BY last DESC, trace_id LIMIT ")
	b.arg(q.Limit)
	b.w(`) SELECT e.trace_id, min(e.ts), max(e.ts + COALESCE(e.duration_ns, 0)) - min(e.ts),
	list(DISTINCT e.service ORDER BY e.service), count(*), count(*) FILTER (WHERE e.status = 'error'),
	COALESCE(arg_min(e.service, e.ts) FILTER (WHERE COALESCE(e.parent_span_id, '') = ''), arg_min(e.service, e.ts)),
	COALESCE(arg_min(e.name, e.ts) FILTER (WHERE COALESCE(e.parent_span_id, '') = ''), arg_min(e.name, e.ts))
	FROM events e JOIN m ON m.trace_id = e.trace_id WHERE e.tenant_id = `)
	b.arg(q.Tenant)
	b.w(" AND e.kind = 'span' AND e.ts >= ")
	b.arg(q.Range.Start - int64(domain.TraceSlack))
	b.w(" AND e.ts < ")
	b.arg(q.Range.End + int64(domain.TraceSlack))
	b.w(" GROUP BY e.trace_id ORDER BY max(m.last) DESC, e.trace_id")
	rows, err := s.db.QueryContext(ctx, b.String(), b.Args...)
	if err != nil {
		return nil, fmt.Errorf("traces: %w", stopped(err))
	}
	defer rows.Close()
	var out []domain.TraceSummary
	for rows.Next() {
		var t domain.TraceSummary
		var services []any
		if err := rows.Scan(&t.TraceID, &t.StartNano, &t.DurationNano, &services, &t.Spans, &t.Errors, &t.RootService, &t.RootName); err != nil {
			return nil, fmt.Errorf("traces: scan: %w", err)
		}
		for _, v := range services {
			if s, ok := v.(string); ok {
				t.Services = append(t.Services, s)
			}
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("traces: %w", stopped(err))
	}
	return out, nil
}

package clickhouse

import (
	"context"
	"fmt"
	"sort"

	"github.com/inquest/inquest/domain"
)

// Traces lists the newest traces with a span matching the query, each
// summed up from its spans in the range widened by domain.TraceSlack:
// the matching trace ids first (bounded by the limit), then only their
// spans (ClickHouse 18.16 has arg_min as argMin and the -If combinators).
func (s *Store) Traces(ctx context.Context, q domain.TraceQuery) ([]domain.TraceSummary, error) {
	v, err := s.traces(ctx, q)
	return v, stopped(err)
}

func (s *Store) traces(ctx context.Context, q domain.TraceQuery) ([]domain.TraceSummary, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	b := newBuilder(s.db)
	b.w("SELECT trace_id, min(ts), max(ts + ifNull(duration_ns, 0)) - min(ts), groupUniqArray(service), count(), countIf(status = 'error'), ",
		"argMinIf(service, ts, parent_span_id = ''), argMin(service, ts), argMinIf(name, ts, parent_span_id = ''), argMin(name, ts), max(last) FROM ")
	b.table("events")
	b.w(" ANY INNER JOIN (SELECT trace_id, max(ts) AS last FROM ")
	b.table("events")
	if err := b.where(q.Tenant, q.Range, q.Filters); err != nil {
		return nil, err
	}
	b.w(" AND kind = 'span' AND trace_id != '' GROUP BY trace_id ORDER BY last DESC, trace_id LIMIT ")
	b.arg(q.Limit)
	b.w(") USING trace_id WHERE tenant_id = ")
	b.arg(q.Tenant)
	b.w(" AND kind = 'span' AND ts >= ")
	b.arg(q.Range.Start - int64(domain.TraceSlack))
	b.w(" AND ts < ")
	b.arg(q.Range.End + int64(domain.TraceSlack))
	b.w(" GROUP BY trace_id ORDER BY max(last) DESC, trace_id")
	rows, err := s.conn.Query(ctx, b.String(), b.Args...)
	if err != nil {
		return nil, fmt.Errorf("traces: %w", err)
	}
	defer rows.Close()
	var out []domain.TraceSummary
	for rows.Next() {
		var (
			t                           domain.TraceSummary
			spans, errs                 uint64
			rootSvc, firstSvc, rootName string
			firstName                   string
			last                        int64
		)
		if err := rows.Scan(&t.TraceID, &t.StartNano, &t.DurationNano, &t.Services, &spans, &errs, &rootSvc, &firstSvc, &rootName, &firstName, &last); err != nil {
			return nil, fmt.Errorf("traces: scan: %w", err)
		}
		sort.Strings(t.Services)
		t.Spans, t.Errors = int(spans), int(errs)
		t.RootService, t.RootName = rootSvc, rootName
		if rootSvc == "" && rootName == "" {
			t.RootService, t.RootName = firstSvc, firstName
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("traces: %w", err)
	}
	return out, nil
}

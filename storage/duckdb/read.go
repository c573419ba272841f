package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/internal/sqlbuild"
)

// Aggregate runs an aggregate query.
func (s *Store) Aggregate(ctx context.Context, q domain.Query) (*domain.AggregateResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	query, args, err := compileAggregate(&q)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", stopped(err))
	}
	defer rows.Close()
	res := sqlbuild.NewResult(&q)
	withRank := q.Bucket > 0 && len(q.GroupBy) > 0
	for rows.Next() {
		row := domain.AggregateRow{
			Keys:   make([]*string, len(q.GroupBy)),
			Values: make([]*float64, len(q.Aggregations)),
		}
		var dest []any
		var bucket, rank sql.NullInt64
		if q.Bucket > 0 {
			dest = append(dest, &bucket)
		}
		if withRank {
			dest = append(dest, &rank)
		}
		keys := make([]sql.NullString, len(q.GroupBy))
		vals := make([]sql.NullFloat64, len(q.Aggregations))
		for i := range keys {
			dest = append(dest, &keys[i])
		}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("aggregate: scan: %w", err)
		}
		row.Bucket = bucket.Int64
		for i, k := range keys {
			if k.Valid {
				v := k.String
				row.Keys[i] = &v
			}
		}
		for i, v := range vals {
			if v.Valid {
				f := v.Float64
				row.Values[i] = &f
			}
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregate: %w", stopped(err))
	}
	return res, nil
}

// stopped says a query DuckDB stopped at its memory limit (half of
// --memory-limit, or --duckdb-memory-limit) in the store's terms: after
// spilling what it can to its temporary directory, a query that still
// needs more is refused, and the error says what to narrow.
func stopped(err error) error {
	if err != nil && strings.Contains(err.Error(), "Out of Memory Error") {
		return fmt.Errorf("%w (DuckDB: %v)", storage.ErrTooCostly, err)
	}
	return err
}

const eventColumns = `tenant_id, ts, kind, service, name, trace_id, span_id, parent_span_id,
	duration_ns, status, severity, body, attr_keys, attr_vals, num_keys, num_vals, res_keys, res_vals,
	sample_rate, event_id`

// pageColumns are eventColumns of a page of events e joined to its
// resources r.
const pageColumns = `e.tenant_id, ts, kind, service, name, trace_id, span_id, parent_span_id,
	duration_ns, status, severity, body, attr_keys, attr_vals, num_keys, num_vals,
	COALESCE(r.res_keys, e.res_keys, []::VARCHAR[]), COALESCE(r.res_vals, e.res_vals, []::VARCHAR[]),
	sample_rate, event_id`

func scanEvent(rows *sql.Rows) (domain.Event, error) {
	var (
		e                                       domain.Event
		kind, status                            string
		traceID, spanID, parent, severity, body sql.NullString
		dur                                     sql.NullInt64
		ak, av, nk, rk, rv                      duckdb.Composite[[]string]
		nv                                      duckdb.Composite[[]float64]
		id                                      int64
	)
	err := rows.Scan(&e.Tenant, &e.TimeUnixNano, &kind, &e.Service, &e.Name, &traceID, &spanID, &parent,
		&dur, &status, &severity, &body, &ak, &av, &nk, &nv, &rk, &rv, &e.SampleRate, &id)
	if err != nil {
		return e, err
	}
	e.ID = uint64(id)
	e.Kind, e.Status = domain.Kind(kind), domain.Status(status)
	e.TraceID, e.SpanID, e.ParentSpanID = traceID.String, spanID.String, parent.String
	e.Severity, e.Body, e.DurationNano = severity.String, body.String, dur.Int64
	e.Attrs = domain.Attrs{Keys: ak.Get(), Values: av.Get()}
	e.Resource = domain.Attrs{Keys: rk.Get(), Values: rv.Get()}
	e.NumAttrs = domain.NumAttrs{Keys: nk.Get(), Values: nv.Get()}
	return e, nil
}

// Events returns one page of events, newest first.
func (s *Store) Events(ctx context.Context, q domain.EventQuery) (*domain.EventPage, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	// The page is taken from the events first and only its rows get their
	// resources: joining every row in the range before the limit would
	// cost a probe per row.
	b := newBuilder()
	b.w("SELECT ", pageColumns, " FROM (SELECT * FROM ", readsResource(nil, q.Filters).Events())
	if err := b.where(q.Tenant, q.Range, q.Filters); err != nil {
		return nil, err
	}
	if q.After != nil {
		b.w(" AND (ts < ")
		b.arg(q.After.TimeUnixNano)
		b.w(" OR (ts = ")
		b.arg(q.After.TimeUnixNano)
		b.w(" AND event_id < ")
		b.arg(int64(q.After.ID))
		b.w("))")
	}
	b.w(" ORDER BY ts DESC, event_id DESC LIMIT ")
	b.arg(q.Limit + 1)
	b.w(") e LEFT JOIN resources r ON r.tenant_id = e.tenant_id AND r.res_id = e.res_id ORDER BY ts DESC, event_id DESC")
	rows, err := s.db.QueryContext(ctx, b.String(), b.Args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", stopped(err))
	}
	defer rows.Close()
	page := &domain.EventPage{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("events: scan: %w", err)
		}
		page.Events = append(page.Events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if len(page.Events) > q.Limit {
		page.Events = page.Events[:q.Limit]
		last := page.Events[len(page.Events)-1]
		page.Next = &domain.Cursor{TimeUnixNano: last.TimeUnixNano, ID: last.ID}
	}
	return page, nil
}

// Trace returns the spans of one trace ordered by start time.
func (s *Store) Trace(ctx context.Context, tenant, traceID string) ([]domain.Event, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+eventColumns+
		" FROM events_res WHERE tenant_id = ? AND trace_id = ? AND kind = 'span' ORDER BY ts, event_id", tenant, traceID)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	defer rows.Close()
	var spans []domain.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("trace: scan: %w", err)
		}
		spans = append(spans, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if len(spans) == 0 {
		return nil, storage.ErrNotFound
	}
	return spans, nil
}

const servicesSQL = `SELECT service,
	CAST(COALESCE(SUM(CASE WHEN kind = 'span' THEN sample_rate END), 0) AS DOUBLE),
	CAST(COALESCE(SUM(CASE WHEN kind = 'span' AND status = 'error' THEN sample_rate END), 0) AS DOUBLE),
	quantile_cont(duration_ns, 0.5) / 1e6,
	quantile_cont(duration_ns, 0.99) / 1e6,
	min(ts), max(ts)
FROM events WHERE tenant_id = ? AND ts >= ? AND ts < ?
GROUP BY service ORDER BY service`

// Services lists the services seen in the range with their RED figures.
func (s *Store) Services(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceSummary, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	rows, err := s.db.QueryContext(ctx, servicesSQL, tenant, r.Start, r.End)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	defer rows.Close()
	var out []domain.ServiceSummary
	for rows.Next() {
		var sum domain.ServiceSummary
		var p50, p99 sql.NullFloat64
		if err := rows.Scan(&sum.Name, &sum.SpanCount, &sum.ErrorCount, &p50, &p99, &sum.FirstNano, &sum.LastNano); err != nil {
			return nil, fmt.Errorf("services: scan: %w", err)
		}
		sum.P50Ms, sum.P99Ms = nullFloat(p50), nullFloat(p99)
		out = append(out, sum)
	}
	domain.SetCoverage(out, r)
	return out, rows.Err()
}

func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	f := v.Float64
	return &f
}

package clickhouse

import (
	"context"
	"errors"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/internal/sqlbuild"
)

// Aggregate runs an aggregate query: one query without buckets or without
// groups; with both, one query ranks the groups and a second takes the
// per-bucket series of the top ones.
func (s *Store) Aggregate(ctx context.Context, q domain.Query) (*domain.AggregateResult, error) {
	v, err := s.aggregate(ctx, q)
	return v, stopped(err)
}

func (s *Store) aggregate(ctx context.Context, q domain.Query) (*domain.AggregateResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	res := sqlbuild.NewResult(&q)
	var (
		query string
		args  []any
		err   error
	)
	switch {
	case q.Bucket == 0:
		query, args, err = compileGroups(s.db, &q)
	case len(q.GroupBy) == 0:
		query, args, err = compileBuckets(s.db, &q, nil)
	default:
		bq := q
		bq.Bucket = 0
		query, args, err = compileGroups(s.db, &bq)
		if err != nil {
			return nil, err
		}
		top, err := s.aggregateRows(ctx, &bq, query, args)
		if err != nil {
			return nil, err
		}
		if len(top) == 0 {
			return res, nil
		}
		keys := make([][]*string, len(top))
		for i, r := range top {
			keys[i] = r.Keys
		}
		query, args, err = compileBuckets(s.db, &q, keys)
		if err != nil {
			return nil, err
		}
		rows, err := s.aggregateRows(ctx, &q, query, args)
		if err != nil {
			return nil, err
		}
		res.Rows = rankByGroups(rows, keys)
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	res.Rows, err = s.aggregateRows(ctx, &q, query, args)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// rankByGroups orders bucketed rows by their group's rank, then bucket.
func rankByGroups(rows []domain.AggregateRow, keys [][]*string) []domain.AggregateRow {
	rank := make(map[string]int, len(keys))
	for i, k := range keys {
		rank[keyString(k)] = i
	}
	out := make([][]domain.AggregateRow, len(keys))
	for _, r := range rows {
		i, ok := rank[keyString(r.Keys)]
		if ok {
			out[i] = append(out[i], r)
		}
	}
	var flat []domain.AggregateRow
	for _, rs := range out {
		flat = append(flat, rs...) // each already in bucket order
	}
	return flat
}

func keyString(k []*string) string {
	s := ""
	for _, v := range k {
		if v == nil {
			s += "\x00n"
		} else {
			s += "\x00v" + *v
		}
	}
	return s
}

func (s *Store) aggregateRows(ctx context.Context, q *domain.Query, query string, args []any) ([]domain.AggregateRow, error) {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	defer rows.Close()
	var out []domain.AggregateRow
	for rows.Next() {
		row := domain.AggregateRow{
			Keys:   make([]*string, len(q.GroupBy)),
			Values: make([]*float64, len(q.Aggregations)),
		}
		var dest []any
		if q.Bucket > 0 {
			dest = append(dest, &row.Bucket)
		}
		for i := range row.Keys {
			dest = append(dest, &row.Keys[i])
		}
		for i := range row.Values {
			dest = append(dest, &row.Values[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("aggregate: scan: %w", err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	return out, nil
}

const eventColumns = insertColumns

func scanEvents(rows driver.Rows) ([]domain.Event, error) {
	defer rows.Close()
	var out []domain.Event
	for rows.Next() {
		var (
			e            domain.Event
			kind, status string
			dur          *int64
		)
		if err := rows.Scan(&e.Tenant, &e.TimeUnixNano, &kind, &e.Service, &e.Name, &e.TraceID, &e.SpanID, &e.ParentSpanID,
			&dur, &status, &e.Severity, &e.Body, &e.Attrs.Keys, &e.Attrs.Values, &e.NumAttrs.Keys, &e.NumAttrs.Values,
			&e.Resource.Keys, &e.Resource.Values, &e.SampleRate, &e.ID, &e.IngestedNano); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		e.Kind, e.Status = domain.Kind(kind), domain.Status(status)
		if dur != nil {
			e.DurationNano = *dur
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Events returns one page of events, newest first.
func (s *Store) Events(ctx context.Context, q domain.EventQuery) (*domain.EventPage, error) {
	v, err := s.events(ctx, q)
	return v, stopped(err)
}

func (s *Store) events(ctx context.Context, q domain.EventQuery) (*domain.EventPage, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	b := newBuilder(s.db)
	b.w("SELECT ", eventColumns, " FROM ")
	b.table("events")
	if err := b.where(q.Tenant, q.Range, q.Filters); err != nil {
		return nil, err
	}
	if q.After != nil {
		b.w(" AND (ts < ")
		b.arg(q.After.TimeUnixNano)
		b.w(" OR (ts = ")
		b.arg(q.After.TimeUnixNano)
		b.w(" AND event_id < ")
		b.arg(q.After.ID)
		b.w("))")
	}
	b.w(" ORDER BY ts DESC, event_id DESC LIMIT ")
	b.arg(q.Limit + 1)
	rows, err := s.conn.Query(ctx, b.String(), b.Args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	events, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	page := &domain.EventPage{Events: events}
	if len(page.Events) > q.Limit {
		page.Events = page.Events[:q.Limit]
		last := page.Events[len(page.Events)-1]
		page.Next = &domain.Cursor{TimeUnixNano: last.TimeUnixNano, ID: last.ID}
	}
	return page, nil
}

// Trace returns the spans of one trace ordered by start time. The trace
// index gives the time span first, so the events read touches only the
// partitions and granules of that time.
func (s *Store) Trace(ctx context.Context, tenant, traceID string) ([]domain.Event, error) {
	v, err := s.trace(ctx, tenant, traceID)
	return v, stopped(err)
}

func (s *Store) trace(ctx context.Context, tenant, traceID string) ([]domain.Event, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	if traceID == "" {
		return nil, storage.ErrNotFound
	}
	var lo, hi *int64
	row := s.conn.QueryRow(ctx, "SELECT min(ts_min), max(ts_max) FROM "+s.db+
		".trace_index WHERE tenant_id = ? AND trace_id = ? HAVING count() > 0", tenant, traceID)
	var minTs, maxTs int64
	switch err := row.Scan(&minTs, &maxTs); {
	case err == nil:
		lo, hi = &minTs, &maxTs
	case isNoRows(err):
		return nil, storage.ErrNotFound
	default:
		return nil, fmt.Errorf("trace: %w", err)
	}
	rows, err := s.conn.Query(ctx, "SELECT "+eventColumns+" FROM "+s.db+
		".events WHERE tenant_id = ? AND ts >= ? AND ts <= ? AND trace_id = ? AND kind = 'span' ORDER BY ts, event_id",
		tenant, *lo, *hi, traceID)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	spans, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if len(spans) == 0 {
		return nil, storage.ErrNotFound
	}
	return spans, nil
}

// stopped says a query ClickHouse stopped at max_memory_usage
// (--clickhouse-query-memory) in the store's terms.
func stopped(err error) error {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) && ex.Code == 241 { // MEMORY_LIMIT_EXCEEDED
		return fmt.Errorf("%w (%s)", storage.ErrTooCostly, ex.Message)
	}
	return err
}

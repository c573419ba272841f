package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/inquest/inquest/domain"
)

// labelExpr writes a label's value, "" when absent (PromQL semantics).
func (b *builder) labelExpr(name string) {
	b.w("COALESCE(label_vals[list_position(label_keys, ")
	b.arg(name)
	b.w(")], '')")
}

func (b *builder) matcher(m domain.LabelMatcher) {
	switch m.Op {
	case domain.MatchEq, domain.MatchNe:
		b.labelExpr(m.Name)
		b.w(" ", string(m.Op), " ")
		b.arg(m.Value)
	case domain.MatchRe, domain.MatchNotRe:
		if m.Op == domain.MatchNotRe {
			b.w("NOT ")
		}
		b.w("regexp_full_match(")
		b.labelExpr(m.Name)
		b.w(", ")
		b.arg(m.Value)
		b.w(")")
	}
}

// stepFuncs maps per-series functions onto SQL over the step's samples.
var stepFuncs = map[domain.MetricFunc]string{
	domain.FuncAvg: "avg(value)", domain.FuncMin: "min(value)", domain.FuncMax: "max(value)",
	domain.FuncSum: "sum(value)", domain.FuncCount: "CAST(count(value) AS DOUBLE)",
	domain.FuncLast: "arg_max(value, ts)", domain.FuncIncrease: "sum(value)",
}

// compileMetric builds the per-series step query, optionally grouped across
// series. Output columns: series_id or group keys, b, v.
func compileMetric(q *domain.MetricQuery) (string, []any) {
	b := newBuilder()
	counter := q.Func == domain.FuncRate || q.Func == domain.FuncIncrease
	start := q.Range.Start
	if counter {
		start -= int64(q.Step) // one step of look-back for the first delta
	}
	grouped := len(q.GroupBy) > 0 || q.Aggregate
	b.w("WITH s AS (SELECT series_id, ts, value")
	for i, g := range q.GroupBy {
		b.w(", ")
		b.labelExpr(g)
		b.w(fmt.Sprintf(" AS k%d", i))
	}
	b.w(" FROM metric_samples WHERE tenant_id = ")
	b.arg(q.Tenant)
	b.w(" AND name = ")
	b.arg(q.Name)
	b.w(" AND ts >= ")
	b.arg(start)
	b.w(" AND ts < ")
	b.arg(q.Range.End)
	// NaN (an empty summary, a staleness marker) and ±Inf are stored but
	// carry no value to average or plot: a step of only those has no point.
	b.w(" AND isfinite(value)")
	for _, m := range q.Matchers {
		b.w(" AND ")
		b.matcher(m)
	}
	b.w(")")
	src := "s"
	if counter {
		// Deltas between consecutive samples; a drop is a counter reset.
		b.w(", d AS (SELECT * EXCLUDE (prev, value), CASE WHEN value < prev THEN value ELSE value - prev END AS value FROM (SELECT *, lag(value) OVER (PARTITION BY series_id ORDER BY ts) AS prev FROM s) WHERE prev IS NOT NULL)")
		src = "d"
	}
	b.w(", per AS (SELECT series_id")
	for i := range q.GroupBy {
		b.w(fmt.Sprintf(", k%d", i))
	}
	b.w(", (ts // ")
	b.arg(int64(q.Step))
	b.w(") * ")
	b.arg(int64(q.Step))
	b.w(" AS b, ")
	if q.Func == domain.FuncRate {
		b.w("sum(value) / ")
		b.arg(q.Step.Seconds())
	} else {
		b.w(stepFuncs[q.Func])
	}
	b.w(" AS v FROM ", src, " WHERE ts >= ")
	b.arg(q.Range.Start)
	b.w(" GROUP BY ALL)")
	if grouped {
		b.w(", g AS (SELECT ")
		for i := range q.GroupBy {
			b.w(fmt.Sprintf("k%d, ", i))
		}
		b.w("b, ", strings.ToUpper(string(q.Group)), "(v) AS v FROM per GROUP BY ALL)")
		b.w(", keys AS (SELECT DISTINCT ")
		keys := make([]string, len(q.GroupBy))
		for i := range q.GroupBy {
			keys[i] = fmt.Sprintf("k%d", i)
		}
		if len(keys) == 0 {
			b.w("1 AS one FROM g LIMIT ")
			b.arg(q.Limit)
			b.w(") SELECT b, v FROM g ORDER BY b")
			return b.String(), b.Args
		}
		b.w(strings.Join(keys, ", "), " FROM g ORDER BY ", strings.Join(keys, ", "), " LIMIT ")
		b.arg(q.Limit)
		b.w(") SELECT ", strings.Join(keys, ", "), ", b, v FROM g SEMI JOIN keys USING (", strings.Join(keys, ", "),
			") ORDER BY ", strings.Join(keys, ", "), ", b")
		return b.String(), b.Args
	}
	b.w(", ids AS (SELECT DISTINCT series_id FROM per ORDER BY series_id LIMIT ")
	b.arg(q.Limit)
	b.w(") SELECT series_id, b, v FROM per SEMI JOIN ids USING (series_id) ORDER BY series_id, b")
	return b.String(), b.Args
}

// MetricSeries runs a metric query.
func (s *Store) MetricSeries(ctx context.Context, q domain.MetricQuery) ([]domain.MetricSeries, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	query, args := compileMetric(&q)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("metric series: %w", err)
	}
	defer rows.Close()
	grouped := len(q.GroupBy) > 0 || q.Aggregate
	var out []domain.MetricSeries
	var ids []uint64
	var lastKey string
	for rows.Next() {
		var (
			id   int64
			keys = make([]string, len(q.GroupBy))
			pt   domain.MetricPoint
			v    sql.NullFloat64
			dest []any
		)
		if grouped {
			for i := range keys {
				dest = append(dest, &keys[i])
			}
		} else {
			dest = append(dest, &id)
		}
		dest = append(dest, &pt.TimeUnixNano, &v)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("metric series: scan: %w", err)
		}
		if !v.Valid {
			continue
		}
		pt.Value = v.Float64
		key := fmt.Sprint(id, keys)
		if len(out) == 0 || key != lastKey {
			ms := domain.MetricSeries{Name: q.Name}
			for i, g := range q.GroupBy {
				ms.Labels.Keys = append(ms.Labels.Keys, g)
				ms.Labels.Values = append(ms.Labels.Values, keys[i])
			}
			out = append(out, ms)
			ids = append(ids, uint64(id))
			lastKey = key
		}
		out[len(out)-1].Points = append(out[len(out)-1].Points, pt)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metric series: %w", err)
	}
	if !grouped && len(out) > 0 {
		if err := s.fillSeriesLabels(ctx, q, out, ids); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fillSeriesLabels looks up labels and type of the series in one query.
func (s *Store) fillSeriesLabels(ctx context.Context, q domain.MetricQuery, out []domain.MetricSeries, ids []uint64) error {
	b := newBuilder()
	b.w("SELECT series_id, any_value(label_keys), any_value(label_vals), any_value(mtype) FROM metric_samples WHERE tenant_id = ")
	b.arg(q.Tenant)
	b.w(" AND name = ")
	b.arg(q.Name)
	b.w(" AND ts >= ")
	b.arg(q.Range.Start - int64(q.Step))
	b.w(" AND ts < ")
	b.arg(q.Range.End)
	b.w(" AND series_id IN (")
	for i, id := range ids {
		if i > 0 {
			b.w(", ")
		}
		b.arg(int64(id))
	}
	b.w(") GROUP BY series_id")
	rows, err := s.db.QueryContext(ctx, b.String(), b.Args...)
	if err != nil {
		return fmt.Errorf("metric labels: %w", err)
	}
	defer rows.Close()
	idx := make(map[uint64]int, len(ids))
	for i, id := range ids {
		idx[id] = i
	}
	for rows.Next() {
		var id int64
		var keys, vals duckdb.Composite[[]string]
		var typ string
		if err := rows.Scan(&id, &keys, &vals, &typ); err != nil {
			return fmt.Errorf("metric labels: scan: %w", err)
		}
		if i, ok := idx[uint64(id)]; ok {
			out[i].Labels = domain.Attrs{Keys: keys.Get(), Values: vals.Get()}
			out[i].Type = domain.MetricType(typ)
		}
	}
	return rows.Err()
}

// MetricNames lists metric names seen in the range.
func (s *Store) MetricNames(ctx context.Context, tenant string, r domain.TimeRange) ([]string, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT name FROM metric_samples WHERE tenant_id = ? AND ts >= ? AND ts < ? ORDER BY name LIMIT 10000", tenant, r.Start, r.End)
	if err != nil {
		return nil, fmt.Errorf("metric names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

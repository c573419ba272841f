package duckdb

import (
	"fmt"
	"strings"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/internal/sqlbuild"
)

// builder is the shared SQL builder with DuckDB's expressions on it.
type builder struct{ *sqlbuild.Builder }

func newBuilder() *builder { return &builder{&sqlbuild.Builder{}} }

// dialect gives the shared filter logic DuckDB's expressions. res says
// the query reads resource attributes: they are kept once per resource
// (schema.sql), so its rows come from the view that joins them; other
// queries read the events table alone and skip the join.
type dialect struct{ res bool }

// readsResource reports whether any field of a query is a resource
// attribute.
func readsResource(fields []domain.Field, filters ...[]domain.Filter) dialect {
	for _, f := range fields {
		if f.Kind == domain.FieldResource {
			return dialect{res: true}
		}
	}
	for _, fs := range filters {
		for _, f := range fs {
			if f.Field.Kind == domain.FieldResource {
				return dialect{res: true}
			}
		}
	}
	return dialect{}
}

// queryDialect is the dialect for an aggregate query.
func queryDialect(q *domain.Query) dialect {
	fields := append([]domain.Field(nil), q.GroupBy...)
	for _, a := range q.Aggregations {
		if a.Field != nil {
			fields = append(fields, *a.Field)
		}
	}
	return readsResource(fields, q.Filters)
}

func (dialect) Str(b *sqlbuild.Builder, f domain.Field) { (&builder{b}).strExpr(f) }
func (dialect) Agg(b *sqlbuild.Builder, a domain.Aggregation, seconds float64) {
	(&builder{b}).agg(a, seconds)
}
func (d dialect) Events() string {
	if d.res {
		return "events_res"
	}
	return "events"
}

// Bucket is integer division, so that buckets start at multiples of width.
func (dialect) Bucket(b *sqlbuild.Builder, width int64) {
	b.W("(ts // ")
	b.Arg(width)
	b.W(") * ")
	b.Arg(width)
}
func (dialect) Num(b *sqlbuild.Builder, f domain.Field) { (&builder{b}).numExpr(f) }

func (dialect) Contains(b *sqlbuild.Builder, f domain.Field, v string) {
	b.W("contains(")
	(&builder{b}).strExpr(f)
	b.W(", ")
	b.Arg(v)
	b.W(")")
}

func (dialect) Has(b *sqlbuild.Builder, f domain.Field) {
	switch {
	case f.Kind == domain.FieldAttr:
		b.W("list_contains(attr_keys, ")
		b.Arg(f.Name)
		b.W(")")
	case f.Kind == domain.FieldResource:
		b.W("list_contains(res_keys, ")
		b.Arg(f.Name)
		b.W(")")
	case f.Name == "duration_ms":
		b.W("duration_ns IS NOT NULL")
	default:
		(&builder{b}).strExpr(f)
		b.W(" IS NOT NULL")
	}
}

func (b *builder) w(parts ...string) { b.W(parts...) }
func (b *builder) arg(v any)         { b.Arg(v) }

// Columns that map one to one; anything else is computed or an attribute.
var plainColumns = map[string]string{
	"service":        "service",
	"name":           "name",
	"kind":           "kind",
	"status":         "status",
	"severity":       "severity",
	"body":           "body",
	"trace_id":       "trace_id",
	"span_id":        "span_id",
	"parent_span_id": "parent_span_id",
	"sample_rate":    "sample_rate",
}

// strExpr writes the field as a VARCHAR expression (NULL when absent).
func (b *builder) strExpr(f domain.Field) {
	switch f.Kind {
	case domain.FieldAttr:
		b.w("attr_vals[list_position(attr_keys, ")
		b.arg(f.Name)
		b.w(")]")
	case domain.FieldResource:
		b.w("res_vals[list_position(res_keys, ")
		b.arg(f.Name)
		b.w(")]")
	default:
		if f.Name == "duration_ms" {
			b.w("CAST(duration_ns / 1e6 AS VARCHAR)")
		} else if f.Name == "sample_rate" {
			b.w("CAST(sample_rate AS VARCHAR)")
		} else {
			b.w(plainColumns[f.Name])
		}
	}
}

// numExpr writes the field as a DOUBLE expression (NULL when absent or not
// a number).
func (b *builder) numExpr(f domain.Field) {
	switch f.Kind {
	case domain.FieldAttr:
		b.w("COALESCE(num_vals[list_position(num_keys, ")
		b.arg(f.Name)
		b.w(")], TRY_CAST(attr_vals[list_position(attr_keys, ")
		b.arg(f.Name)
		b.w(")] AS DOUBLE))")
	case domain.FieldResource:
		b.w("TRY_CAST(")
		b.strExpr(f)
		b.w(" AS DOUBLE)")
	default:
		switch f.Name {
		case "duration_ms":
			b.w("(duration_ns / 1e6)")
		case "sample_rate":
			b.w("sample_rate")
		default:
			b.w("TRY_CAST(")
			b.strExpr(f)
			b.w(" AS DOUBLE)")
		}
	}
}

// where writes the tenant, time range and filters.
func (b *builder) where(tenant string, r domain.TimeRange, filters []domain.Filter) error {
	return sqlbuild.Where(b.Builder, dialect{}, tenant, r, filters)
}

// quantileFunc is exact; approx_quantile would be faster on very large
// ranges but users compare these figures with their own.
const quantileFunc = "quantile_cont"

// agg writes one aggregation as a DOUBLE; seconds is the window a rate is
// taken over.
func (b *builder) agg(a domain.Aggregation, seconds float64) {
	b.w("CAST(")
	switch a.Op {
	case domain.AggCount:
		if a.Field == nil {
			b.w("COALESCE(SUM(sample_rate), 0)")
		} else {
			b.w("COALESCE(SUM(CASE WHEN ")
			b.strExpr(*a.Field)
			b.w(" IS NOT NULL THEN sample_rate END), 0)")
		}
	case domain.AggRate:
		b.w("COALESCE(SUM(sample_rate), 0) / ")
		b.arg(seconds)
	case domain.AggSum:
		b.w("SUM(")
		b.numExpr(*a.Field)
		b.w(" * sample_rate)")
	case domain.AggAvg:
		b.w("SUM(")
		b.numExpr(*a.Field)
		b.w(" * sample_rate) / SUM(CASE WHEN ")
		b.numExpr(*a.Field)
		b.w(" IS NOT NULL THEN sample_rate END)")
	case domain.AggMin, domain.AggMax:
		b.w(strings.ToUpper(string(a.Op)), "(")
		b.numExpr(*a.Field)
		b.w(")")
	case domain.AggCountDistinct:
		b.w("COUNT(DISTINCT ")
		b.strExpr(*a.Field)
		b.w(")")
	default:
		q, _ := a.Op.Quantile()
		if a.Field.Kind == domain.FieldColumn && a.Field.Name == "duration_ms" {
			// On the integer column, scaled once, rather than per row.
			b.w(quantileFunc, fmt.Sprintf("(duration_ns, %g) / 1e6", q)) // q is a constant of ours
			break
		}
		b.w(quantileFunc, "(")
		b.numExpr(*a.Field)
		b.w(fmt.Sprintf(", %g)", q))
	}
	b.w(" AS DOUBLE)")
}

var orderClause = sqlbuild.OrderClause

// groupedSelect writes the shared skeleton (sqlbuild.GroupedSelect).
func (b *builder) groupedSelect(q *domain.Query, withBucket bool) error {
	return sqlbuild.GroupedSelect(b.Builder, queryDialect(q), q, withBucket, nil)
}

// compileAggregate turns a validated Query into SQL. Columns come back as
// [b,] [rnk,] g0..gn, a0..am.
func compileAggregate(q *domain.Query) (string, []any, error) {
	b := newBuilder()
	switch {
	case q.Bucket == 0:
		if err := b.groupedSelect(q, false); err != nil {
			return "", nil, err
		}
		if len(q.GroupBy) > 0 {
			b.w(" ORDER BY ", orderClause(q, ""), " LIMIT ")
			b.arg(q.Limit)
		}
	case len(q.GroupBy) == 0:
		if err := b.groupedSelect(q, true); err != nil {
			return "", nil, err
		}
		b.w(" ORDER BY b")
	default:
		// Rank the groups over the whole range first, then take the
		// per-bucket series of the top ones only.
		b.w("WITH grouped AS (")
		if err := b.groupedSelect(q, false); err != nil {
			return "", nil, err
		}
		b.w("), top AS (SELECT *, row_number() OVER (ORDER BY ", orderClause(q, ""), ") AS rnk FROM grouped ORDER BY rnk LIMIT ")
		b.arg(q.Limit)
		b.w(") SELECT (e.ts // ")
		b.arg(int64(q.Bucket))
		b.w(") * ")
		b.arg(int64(q.Bucket))
		b.w(" AS b, t.rnk")
		for i := range q.GroupBy {
			b.w(fmt.Sprintf(", t.g%d", i))
		}
		for i, a := range q.Aggregations {
			b.w(", ")
			b.agg(a, q.Bucket.Seconds())
			b.w(fmt.Sprintf(" AS a%d", i))
		}
		b.w(" FROM (SELECT *")
		for i, g := range q.GroupBy {
			b.w(", ")
			b.strExpr(g)
			b.w(fmt.Sprintf(" AS eg%d", i))
		}
		b.w(" FROM ", queryDialect(q).Events())
		if err := b.where(q.Tenant, q.Range, q.Filters); err != nil {
			return "", nil, err
		}
		b.w(") e JOIN top t ON ")
		for i := range q.GroupBy {
			if i > 0 {
				b.w(" AND ")
			}
			b.w(fmt.Sprintf("e.eg%d IS NOT DISTINCT FROM t.g%d", i, i))
		}
		b.w(" GROUP BY ALL ORDER BY t.rnk, b")
	}
	return b.String(), b.Args, nil
}

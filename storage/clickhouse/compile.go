package clickhouse

import (
	"fmt"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/internal/sqlbuild"
)

// builder is the shared SQL builder with ClickHouse's expressions on it.
// The driver binds the ? placeholders by escaping values into the query
// text (18.16 has no server-side parameters); no value is ever pasted by
// this package.
type builder struct {
	*sqlbuild.Builder
	db string
}

func newBuilder(db string) *builder { return &builder{Builder: &sqlbuild.Builder{}, db: db} }

// dialect gives the shared filter logic and select skeleton ClickHouse's
// expressions.
type dialect struct{ db string }

func (d dialect) Events() string { return d.db + ".events" }
func (dialect) Agg(b *sqlbuild.Builder, a domain.Aggregation, seconds float64) {
	(&builder{Builder: b}).agg(a, seconds)
}

// Bucket is integer division, so that buckets start at multiples of width.
func (dialect) Bucket(b *sqlbuild.Builder, width int64) {
	b.W("intDiv(ts, ")
	b.Arg(width)
	b.W(") * ")
	b.Arg(width)
}

func (dialect) Str(b *sqlbuild.Builder, f domain.Field) { (&builder{Builder: b}).strExpr(f) }
func (dialect) Num(b *sqlbuild.Builder, f domain.Field) { (&builder{Builder: b}).numExpr(f) }

func (dialect) Contains(b *sqlbuild.Builder, f domain.Field, v string) {
	b.W("(position(")
	(&builder{Builder: b}).strExpr(f)
	b.W(", ")
	b.Arg(v)
	b.W(") > 0)")
}

func (dialect) Has(b *sqlbuild.Builder, f domain.Field) {
	switch {
	case f.Kind == domain.FieldAttr:
		b.W("has(attr_keys, ")
		b.Arg(f.Name)
		b.W(")")
	case f.Kind == domain.FieldResource:
		b.W("has(res_keys, ")
		b.Arg(f.Name)
		b.W(")")
	case f.Name == "duration_ms":
		b.W("isNotNull(duration_ns)")
	default:
		b.W("isNotNull(")
		(&builder{Builder: b}).strExpr(f)
		b.W(")")
	}
}

func (b *builder) w(parts ...string) { b.W(parts...) }
func (b *builder) arg(v any)         { b.Arg(v) }

// table names a table of the store's database.
func (b *builder) table(name string) { b.w(b.db, ".", name) }

// Columns stored as strings where "" means absent.
var optionalColumns = map[string]bool{
	"trace_id": true, "span_id": true, "parent_span_id": true, "severity": true, "body": true,
}

var plainColumns = map[string]bool{
	"service": true, "name": true, "kind": true, "status": true,
}

// pairExpr writes the value of key in a parallel key/value array pair, NULL
// when the key is absent.
func (b *builder) pairExpr(keys, vals, key string) {
	b.w("if(has(", keys, ", ")
	b.arg(key)
	b.w("), ", vals, "[indexOf(", keys, ", ")
	b.arg(key)
	b.w(")], NULL)")
}

// strExpr writes the field as a string expression, NULL when absent, so
// that group keys and filters agree with the embedded store.
func (b *builder) strExpr(f domain.Field) {
	switch f.Kind {
	case domain.FieldAttr:
		b.pairExpr("attr_keys", "attr_vals", f.Name)
	case domain.FieldResource:
		b.pairExpr("res_keys", "res_vals", f.Name)
	default:
		switch {
		case f.Name == "duration_ms":
			b.w("toString(duration_ns / 1e6)")
		case f.Name == "sample_rate":
			b.w("toNullable(toString(sample_rate))")
		case optionalColumns[f.Name]:
			b.w("nullIf(", f.Name, ", '')")
		case plainColumns[f.Name]:
			// Never NULL; left plain, because grouping by a Nullable key
			// costs a third more time.
			b.w(f.Name)
		}
	}
}

// numExpr writes the field as a Nullable(Float64) expression, NULL when
// absent or not a number.
func (b *builder) numExpr(f domain.Field) {
	switch f.Kind {
	case domain.FieldAttr:
		b.w("if(has(num_keys, ")
		b.arg(f.Name)
		b.w("), toNullable(num_vals[indexOf(num_keys, ")
		b.arg(f.Name)
		b.w(")]), toFloat64OrNull(")
		b.pairExpr("attr_keys", "attr_vals", f.Name)
		b.w("))")
	case domain.FieldResource:
		b.w("toFloat64OrNull(")
		b.strExpr(f)
		b.w(")")
	default:
		switch f.Name {
		case "duration_ms":
			b.w("(duration_ns / 1e6)")
		case "sample_rate":
			b.w("toNullable(sample_rate)")
		default:
			b.w("toFloat64OrNull(")
			b.strExpr(f)
			b.w(")")
		}
	}
}

// where writes the tenant, time range and filters.
func (b *builder) where(tenant string, r domain.TimeRange, filters []domain.Filter) error {
	return sqlbuild.Where(b.Builder, dialect{db: b.db}, tenant, r, filters)
}

// agg writes one aggregation as a Nullable(Float64); seconds is the window
// a rate is taken over. quantile is exact below 8,192 values and a uniform
// sample of them above, interpolated linearly like the embedded store's.
func (b *builder) agg(a domain.Aggregation, seconds float64) {
	b.w("toNullable(toFloat64(")
	switch a.Op {
	case domain.AggCount:
		if a.Field == nil {
			b.w("sum(sample_rate)")
		} else {
			b.w("sumIf(sample_rate, isNotNull(")
			b.strExpr(*a.Field)
			b.w("))")
		}
	case domain.AggRate:
		b.w("sum(sample_rate) / ")
		b.arg(seconds)
	case domain.AggSum:
		b.w("sum(")
		b.numExpr(*a.Field)
		b.w(" * sample_rate)")
	case domain.AggAvg:
		b.w("sum(")
		b.numExpr(*a.Field)
		b.w(" * sample_rate) / nullIf(sumIf(sample_rate, isNotNull(")
		b.numExpr(*a.Field)
		b.w(")), 0)")
	case domain.AggMin, domain.AggMax:
		b.w(string(a.Op), "(")
		b.numExpr(*a.Field)
		b.w(")")
	case domain.AggCountDistinct:
		b.w("uniqExact(")
		b.strExpr(*a.Field)
		b.w(")")
	default:
		q, _ := a.Op.Quantile()
		if a.Field.Kind == domain.FieldColumn && a.Field.Name == "duration_ms" {
			b.w(fmt.Sprintf("quantile(%g)(duration_ns) / 1e6", q)) // q is a constant of ours
			break
		}
		b.w(fmt.Sprintf("quantile(%g)(", q))
		b.numExpr(*a.Field)
		b.w(")")
	}
	b.w("))")
}

// groupedSelect writes the shared skeleton (sqlbuild.GroupedSelect);
// keys, when given, keeps only the groups listed (the top groups of a
// bucketed query).
func (b *builder) groupedSelect(q *domain.Query, withBucket bool, keys [][]*string) error {
	var keep func(*sqlbuild.Builder)
	if keys != nil {
		keep = func(sb *sqlbuild.Builder) { (&builder{Builder: sb}).keyFilter(len(q.GroupBy), keys) }
	}
	return sqlbuild.GroupedSelect(b.Builder, dialect{db: b.db}, q, withBucket, keep)
}

// keyFilter keeps rows whose group keys are one of keys. A NULL key is
// matched through isNull, since IN does not compare NULLs as equal.
func (b *builder) keyFilter(n int, keys [][]*string) {
	b.w(" AND (")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.w(", ")
		}
		b.w(fmt.Sprintf("ifNull(g%d, ''), isNull(g%d)", i, i))
	}
	b.w(") IN (")
	for j, k := range keys {
		if j > 0 {
			b.w(", ")
		}
		b.w("(")
		for i, v := range k {
			if i > 0 {
				b.w(", ")
			}
			if v == nil {
				b.arg("")
				b.w(", 1")
			} else {
				b.arg(*v)
				b.w(", 0")
			}
		}
		b.w(")")
	}
	b.w(")")
}

// compileGroups ranks the groups over the whole range: the answer itself
// without buckets, the first of two queries with them.
func compileGroups(db string, q *domain.Query) (string, []any, error) {
	b := newBuilder(db)
	if err := b.groupedSelect(q, false, nil); err != nil {
		return "", nil, err
	}
	if len(q.GroupBy) > 0 {
		b.w(" ORDER BY ", sqlbuild.OrderClause(q, ""), " LIMIT ")
		b.arg(q.Limit)
	}
	return b.String(), b.Args, nil
}

// compileBuckets is the per-bucket series, of the given top groups when
// grouped. 18.16 has neither window functions nor WITH subqueries, so the
// ranking is a query of its own (compileGroups).
func compileBuckets(db string, q *domain.Query, keys [][]*string) (string, []any, error) {
	b := newBuilder(db)
	if err := b.groupedSelect(q, true, keys); err != nil {
		return "", nil, err
	}
	b.w(" ORDER BY b")
	return b.String(), b.Args, nil
}

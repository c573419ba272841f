// Package sqlbuild holds what the SQL backends share when they turn the
// query model into SQL: a builder that keeps every user-supplied value in a
// placeholder, the comparison operators, and the ordering of grouped
// results. The dialects differ in expressions, not in these.
package sqlbuild

import (
	"fmt"
	"strings"

	"github.com/inquest/inquest/domain"
)

// Builder accumulates SQL text and its bound arguments side by side.
type Builder struct {
	sb   strings.Builder
	Args []any
}

// W writes literal SQL; never a user-supplied value.
func (b *Builder) W(parts ...string) {
	for _, p := range parts {
		b.sb.WriteString(p)
	}
}

// Arg writes a placeholder bound to v.
func (b *Builder) Arg(v any) {
	b.sb.WriteByte('?')
	b.Args = append(b.Args, v)
}

func (b *Builder) String() string { return b.sb.String() }

// Comparisons maps the query model's operators onto SQL.
var Comparisons = map[domain.Op]string{
	domain.OpEq: "=", domain.OpNe: "!=",
	domain.OpGt: ">", domain.OpGe: ">=", domain.OpLt: "<", domain.OpLe: "<=",
}

// OrderClause maps the query's order onto the g<i>/a<i> column aliases the
// backends give group keys and aggregations. Without an explicit order,
// groups rank by their first aggregation, largest first; ties break on the
// keys so that pages are stable.
func OrderClause(q *domain.Query, prefix string) string {
	var parts []string
	for _, o := range q.Order {
		col := ""
		for i, a := range q.Aggregations {
			if a.Name() == o.By {
				col = fmt.Sprintf("a%d", i)
			}
		}
		for i, g := range q.GroupBy {
			if g.String() == o.By {
				col = fmt.Sprintf("g%d", i)
			}
		}
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
		}
		parts = append(parts, prefix+col+dir+" NULLS LAST")
	}
	if len(q.Order) == 0 && len(q.GroupBy) > 0 {
		parts = append(parts, prefix+"a0 DESC NULLS LAST")
	}
	for i := range q.GroupBy {
		parts = append(parts, fmt.Sprintf("%sg%d ASC NULLS LAST", prefix, i))
	}
	return strings.Join(parts, ", ")
}

// Having writes the HAVING clause over the a<i> aliases.
func (b *Builder) Having(q *domain.Query) {
	for i, h := range q.Having {
		if i == 0 {
			b.W(" HAVING ")
		} else {
			b.W(" AND ")
		}
		for j, a := range q.Aggregations {
			if a.Name() == h.Aggregation {
				b.W(fmt.Sprintf("a%d", j))
			}
		}
		b.W(" ", Comparisons[h.Op], " ")
		b.Arg(h.Value)
	}
}

// Dialect writes the expressions that differ between SQL engines; the
// filter logic around them is the same for all (Filter, Where).
type Dialect interface {
	// Str writes the field as a string expression, NULL when absent.
	Str(b *Builder, f domain.Field)
	// Num writes the field as a float expression, NULL when absent or not
	// a number.
	Num(b *Builder, f domain.Field)
	// Contains writes a condition: the field's string contains value.
	Contains(b *Builder, f domain.Field, value string)
	// Has writes a condition: the field is present.
	Has(b *Builder, f domain.Field)
}

// Filter writes one predicate; f.Validate has run already. An absent field
// matches no comparison, IN or NOT IN (as storage.Match has it).
func Filter(b *Builder, d Dialect, f domain.Filter) error {
	cmp := Comparisons[f.Op]
	switch f.Op {
	case domain.OpGt, domain.OpGe, domain.OpLt, domain.OpLe:
		v, err := f.Number()
		if err != nil {
			return err
		}
		d.Num(b, f.Field)
		b.W(" ", cmp, " ")
		b.Arg(v)
	case domain.OpEq, domain.OpNe:
		if f.Field.Numeric() {
			v, err := f.Number()
			if err != nil {
				return err
			}
			d.Num(b, f.Field)
			b.W(" ", cmp, " ")
			b.Arg(v)
			return nil
		}
		d.Str(b, f.Field)
		b.W(" ", cmp, " ")
		b.Arg(f.Value)
	case domain.OpIn, domain.OpNotIn:
		d.Str(b, f.Field)
		b.W(" IS NOT NULL AND ")
		d.Str(b, f.Field)
		if f.Op == domain.OpNotIn {
			b.W(" NOT")
		}
		b.W(" IN (")
		for i, v := range f.Values {
			if i > 0 {
				b.W(", ")
			}
			b.Arg(v)
		}
		b.W(")")
	case domain.OpContains, domain.OpNotContains:
		if f.Op == domain.OpNotContains {
			b.W("NOT ")
		}
		d.Contains(b, f.Field, f.Value)
	case domain.OpExists, domain.OpNotExists:
		if f.Op == domain.OpNotExists {
			b.W("NOT ")
		}
		d.Has(b, f.Field)
	default:
		return fmt.Errorf("unknown operator %q", f.Op)
	}
	return nil
}

// Where writes the tenant, the time range and the filters.
func Where(b *Builder, d Dialect, tenant string, r domain.TimeRange, filters []domain.Filter) error {
	b.W(" WHERE tenant_id = ")
	b.Arg(tenant)
	b.W(" AND ts >= ")
	b.Arg(r.Start)
	b.W(" AND ts < ")
	b.Arg(r.End)
	for _, f := range filters {
		b.W(" AND (")
		if err := Filter(b, d, f); err != nil {
			return err
		}
		b.W(")")
	}
	return nil
}

// Aggregator is a Dialect that also writes what a grouped select needs:
// the aggregations, the bucket of a timestamp and the events table.
type Aggregator interface {
	Dialect
	// Agg writes one aggregation as a float; seconds is the window a rate
	// is taken over.
	Agg(b *Builder, a domain.Aggregation, seconds float64)
	// Bucket writes the start of ts's bucket of width nanoseconds.
	Bucket(b *Builder, width int64)
	// Events names the events table.
	Events() string
}

// GroupedSelect writes the skeleton every backend's aggregate shares:
//
//	SELECT [bucket AS b,] g0.., a0.. FROM events WHERE tenant, range, filters
//	[AND keep] [GROUP BY [b,] g0..] [HAVING ..]
//
// keep, if set, adds conditions after the WHERE clause (the top groups of a
// bucketed query). HAVING applies to the whole range, so only without
// buckets.
func GroupedSelect(b *Builder, d Aggregator, q *domain.Query, withBucket bool, keep func(*Builder)) error {
	b.W("SELECT ")
	seconds := q.Range.Seconds()
	var groups []string
	if withBucket {
		d.Bucket(b, int64(q.Bucket))
		b.W(" AS b, ")
		seconds = q.Bucket.Seconds()
		groups = append(groups, "b")
	}
	for i, g := range q.GroupBy {
		d.Str(b, g)
		b.W(fmt.Sprintf(" AS g%d, ", i))
		groups = append(groups, fmt.Sprintf("g%d", i))
	}
	for i, a := range q.Aggregations {
		if i > 0 {
			b.W(", ")
		}
		d.Agg(b, a, seconds)
		b.W(fmt.Sprintf(" AS a%d", i))
	}
	b.W(" FROM ", d.Events())
	if err := Where(b, d, q.Tenant, q.Range, q.Filters); err != nil {
		return err
	}
	if keep != nil {
		keep(b)
	}
	if len(groups) > 0 {
		b.W(" GROUP BY ", strings.Join(groups, ", "))
	}
	if !withBucket {
		b.Having(q)
	}
	return nil
}

// NewResult is the header of an aggregate's answer: the group-by fields and
// the aggregations' column names, in the query's order.
func NewResult(q *domain.Query) *domain.AggregateResult {
	res := &domain.AggregateResult{}
	for _, g := range q.GroupBy {
		res.GroupBy = append(res.GroupBy, g.String())
	}
	for _, a := range q.Aggregations {
		res.Columns = append(res.Columns, a.Name())
	}
	return res
}

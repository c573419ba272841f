// Package sqlbuild holds what the SQL backends share when they turn the
// query model into SQL: a builder that keeps every user-supplied value in a
// placeholder, the comparison operators, and the ordering of grouped
// results. The dialects differ in expressions, not in these.
package sqlbuild

import (
	"fmt"
	"strings"

	"github.com/inquest/inquest/storage"
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
var Comparisons = map[storage.Op]string{
	storage.OpEq: "=", storage.OpNe: "!=",
	storage.OpGt: ">", storage.OpGe: ">=", storage.OpLt: "<", storage.OpLe: "<=",
}

// OrderClause maps the query's order onto the g<i>/a<i> column aliases the
// backends give group keys and aggregations. Without an explicit order,
// groups rank by their first aggregation, largest first; ties break on the
// keys so that pages are stable.
func OrderClause(q *storage.Query, prefix string) string {
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
func (b *Builder) Having(q *storage.Query) {
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
	Str(b *Builder, f storage.Field)
	// Num writes the field as a float expression, NULL when absent or not
	// a number.
	Num(b *Builder, f storage.Field)
	// Contains writes a condition: the field's string contains value.
	Contains(b *Builder, f storage.Field, value string)
	// Has writes a condition: the field is present.
	Has(b *Builder, f storage.Field)
}

// Filter writes one predicate; f.Validate has run already. An absent field
// matches no comparison, IN or NOT IN (as storage.Match has it).
func Filter(b *Builder, d Dialect, f storage.Filter) error {
	cmp := Comparisons[f.Op]
	switch f.Op {
	case storage.OpGt, storage.OpGe, storage.OpLt, storage.OpLe:
		v, err := f.Number()
		if err != nil {
			return err
		}
		d.Num(b, f.Field)
		b.W(" ", cmp, " ")
		b.Arg(v)
	case storage.OpEq, storage.OpNe:
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
	case storage.OpIn, storage.OpNotIn:
		d.Str(b, f.Field)
		b.W(" IS NOT NULL AND ")
		d.Str(b, f.Field)
		if f.Op == storage.OpNotIn {
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
	case storage.OpContains, storage.OpNotContains:
		if f.Op == storage.OpNotContains {
			b.W("NOT ")
		}
		d.Contains(b, f.Field, f.Value)
	case storage.OpExists, storage.OpNotExists:
		if f.Op == storage.OpNotExists {
			b.W("NOT ")
		}
		d.Has(b, f.Field)
	default:
		return fmt.Errorf("unknown operator %q", f.Op)
	}
	return nil
}

// Where writes the tenant, the time range and the filters.
func Where(b *Builder, d Dialect, tenant string, r storage.TimeRange, filters []storage.Filter) error {
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

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

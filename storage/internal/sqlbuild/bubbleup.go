package sqlbuild

import (
	"fmt"

	"github.com/inquest/inquest/domain"
)

// BubbleUpSides writes, after a select list that has begun, the boolean
// column sel (the event is in the selection, else in the baseline), the
// events table and the condition that takes both sides:
//
//	... (selection) AS sel FROM events WHERE tenant AND scope AND
//	    [without a baseline window] range
//	    [with one] ((range AND selection) OR baseline range)
//
// Every backend runs it under its own unnesting of fields and values.
// With sampling rates above 1, only one event in sel (of the selection) and
// one in base (of the baseline) is kept, by its content hash; the caller
// scales the counts back.
func BubbleUpSides(b *Builder, d Aggregator, q *domain.BubbleUpQuery, sel, base int64) error {
	inRange := func(r domain.TimeRange) {
		b.W("(ts >= ")
		b.Arg(r.Start)
		b.W(" AND ts < ")
		b.Arg(r.End)
		b.W(")")
	}
	selection := func() error {
		b.W("(1 = 1")
		for _, f := range q.Selection {
			b.W(" AND (")
			if err := Filter(b, d, f); err != nil {
				return err
			}
			b.W(")")
		}
		b.W(")")
		return nil
	}
	if q.Baseline == nil {
		if err := selection(); err != nil {
			return err
		}
	} else {
		inRange(q.Range)
	}
	b.W(" AS sel FROM ", d.Events(), " WHERE tenant_id = ")
	b.Arg(q.Tenant)
	for _, f := range q.Scope {
		b.W(" AND (")
		if err := Filter(b, d, f); err != nil {
			return err
		}
		b.W(")")
	}
	b.W(" AND ")
	if q.Baseline == nil {
		inRange(q.Range)
	} else {
		b.W("((")
		inRange(q.Range)
		b.W(" AND ")
		if err := selection(); err != nil {
			return err
		}
		b.W(") OR ")
		inRange(*q.Baseline)
		b.W(")")
	}
	if sel <= 1 && base <= 1 {
		return nil
	}
	b.W(" AND (CASE WHEN ")
	if q.Baseline == nil {
		if err := selection(); err != nil {
			return err
		}
	} else {
		inRange(q.Range)
	}
	b.W(" THEN event_id % ")
	b.Arg(max(sel, 1))
	b.W(" = 0 ELSE event_id % ")
	b.Arg(max(base, 1))
	b.W(" = 0 END)")
	return nil
}

// Rows is what both SQL drivers' result sets offer.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanBubbleUp reads the (field, value, selection, baseline) rows of a
// bubble-up query into out.
func ScanBubbleUp(rows Rows, out *domain.BubbleUpCounts) error {
	for rows.Next() {
		var c domain.BubbleUpCount
		if err := rows.Scan(&c.Field, &c.Value, &c.Selection, &c.Baseline); err != nil {
			return fmt.Errorf("bubble-up: %w", err)
		}
		out.Values = append(out.Values, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bubble-up: %w", err)
	}
	return nil
}

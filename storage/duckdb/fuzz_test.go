package duckdb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/storetest"
)

// FuzzAggregateInjection builds queries from arbitrary field names, values
// and operators and runs them on a real DuckDB. Whatever the input, the
// store answers or refuses it as invalid: it never hands DuckDB malformed
// SQL (a parser or binder error would mean user input reached the SQL text),
// and never returns another tenant's rows.
func FuzzAggregateInjection(f *testing.F) {
	ctx := context.Background()
	s, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	now := time.Now().UnixNano()
	secret := storetest.Span("other", "secret", "op", now, 1, domain.StatusOK, "k", "v")
	mine := storetest.Span("mine", "web", "op", now, 1, domain.StatusOK, "k", "v")
	if err := s.WriteEvents(ctx, []domain.Event{secret, mine}); err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][3]string{
		{"service", "=", "web"}, {"attr.k", "in", "v"}, {"attr.x') OR 1=1 --", "=", "x"}, {"service", "=", "' OR '1'='1"},
		{"duration_ms", ">", "1e308"}, {"res.a\"b", "contains", "%"}, {"attr.k", "exists", ""},
	} {
		f.Add(seed[0], seed[1], seed[2], "attr.k")
	}
	f.Fuzz(func(t *testing.T, field, op, value, group string) {
		fld, err := domain.ParseField(field)
		if err != nil {
			return
		}
		q := domain.Query{Tenant: "mine", Range: domain.TimeRange{Start: now - 1e9, End: now + 1e9},
			Filters:      []domain.Filter{{Field: fld, Op: domain.Op(op), Value: value, Values: []string{value, value + "x"}}},
			Aggregations: []domain.Aggregation{{Op: domain.AggCount}, {Op: domain.AggCountDistinct, Field: &fld}}}
		if g, err := domain.ParseField(group); err == nil {
			q.GroupBy = []domain.Field{g}
		}
		res, err := s.Aggregate(ctx, q)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "Parser Error") || strings.Contains(msg, "Binder Error") || strings.Contains(msg, "syntax") {
				t.Fatalf("user input reached the SQL text: %v", err)
			}
			return
		}
		for _, row := range res.Rows {
			for _, k := range row.Keys {
				if k != nil && *k == "secret" {
					t.Fatal("another tenant's data leaked")
				}
			}
		}
	})
}

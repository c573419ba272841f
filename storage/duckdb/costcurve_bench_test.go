package duckdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inquest/inquest/domain"
)

// BenchmarkCostCurve is how the cost of the common questions grows with the
// data: 1M, 10M and 100M of the synthetic spans above at 1,000 a second
// (17 minutes, 2.8 hours, 28 hours), each question over all of it — p99
// by service, a count by attribute filtered by two more, BubbleUp of the
// slowest tenth against the rest, the service map — and the store's bytes
// per span on disk. The databases are kept in the temp directory (the
// 100M one takes ~6 minutes to fill and 3.5 GB).
func BenchmarkCostCurve(b *testing.B) {
	const gap = int64(time.Millisecond)
	route, _ := domain.ParseField("attr.http.route")
	region, _ := domain.ParseField("attr.region")
	status, _ := domain.ParseField("status")
	service, _ := domain.ParseField("service")
	dur, _ := domain.ParseField("duration_ms")
	for _, n := range []int{1_000_000, 10_000_000, 100_000_000} {
		name := fmt.Sprintf("%dM", n/1_000_000)
		b.Run(name, func(b *testing.B) {
			file := fmt.Sprintf("inquest-bench-curve-%s.duckdb", name)
			s := openSeededN(b, file, gap, n)
			ctx := context.Background()
			r := domain.TimeRange{Start: benchBase, End: benchBase + int64(n)*gap}
			q99 := domain.Query{Tenant: "default", Range: r, GroupBy: []domain.Field{service},
				Aggregations: []domain.Aggregation{{Op: domain.AggP99, Field: &dur}}}
			qCount := domain.Query{Tenant: "default", Range: r, GroupBy: []domain.Field{route},
				Filters: []domain.Filter{{Field: region, Op: domain.OpEq, Value: "eu"}, {Field: status, Op: domain.OpEq, Value: "error"}}}
			bubble := domain.BubbleUpQuery{Tenant: "default", Range: r,
				Selection: []domain.Filter{{Field: dur, Op: domain.OpGt, Value: "90"}}}
			for _, c := range []struct {
				name string
				run  func() error
			}{
				{"p99-by-service", func() error { _, err := s.Aggregate(ctx, q99); return err }},
				{"count-filtered", func() error { _, err := s.Aggregate(ctx, qCount); return err }},
				{"bubbleup", func() error { _, err := s.BubbleUp(ctx, bubble); return err }},
				{"service-map", func() error {
					edges, err := s.ServiceMap(ctx, "default", r)
					if err == nil && len(edges) == 0 {
						err = fmt.Errorf("no edges")
					}
					return err
				}},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						if err := c.run(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			st, err := os.Stat(filepath.Join(os.TempDir(), file))
			if err != nil {
				b.Fatal(err)
			}
			b.Run("disk", func(b *testing.B) {
				for b.Loop() {
				}
				b.ReportMetric(float64(st.Size())/float64(n), "bytes/span")
			})
		})
	}
}

package duckdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inquest/inquest/storage"
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
	route, _ := storage.ParseField("attr.http.route")
	region, _ := storage.ParseField("attr.region")
	status, _ := storage.ParseField("status")
	service, _ := storage.ParseField("service")
	dur, _ := storage.ParseField("duration_ms")
	for _, n := range []int{1_000_000, 10_000_000, 100_000_000} {
		name := fmt.Sprintf("%dM", n/1_000_000)
		b.Run(name, func(b *testing.B) {
			file := fmt.Sprintf("inquest-bench-curve-%s.duckdb", name)
			s := openSeededN(b, file, gap, n)
			ctx := context.Background()
			r := storage.TimeRange{Start: benchBase, End: benchBase + int64(n)*gap}
			q99 := storage.Query{Tenant: "default", Range: r, GroupBy: []storage.Field{service},
				Aggregations: []storage.Aggregation{{Op: storage.AggP99, Field: &dur}}}
			qCount := storage.Query{Tenant: "default", Range: r, GroupBy: []storage.Field{route},
				Filters: []storage.Filter{{Field: region, Op: storage.OpEq, Value: "eu"}, {Field: status, Op: storage.OpEq, Value: "error"}}}
			bubble := storage.BubbleUpQuery{Tenant: "default", Range: r,
				Selection: []storage.Filter{{Field: dur, Op: storage.OpGt, Value: "90"}}}
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

package storetest

import (
	"context"
	"testing"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// The benchmarks every backend runs, so that BENCHMARKS.md compares the
// same work.

// BenchP99ByService is the query behind a latency panel: p99 of duration
// by service over the spans seeded from base, one a microsecond, by the
// backend's synthetic data of 20 services.
func BenchP99ByService(b *testing.B, s storage.EventStore, base int64, spans int) {
	ctx := context.Background()
	svc, _ := domain.ParseField("service")
	dur, _ := domain.ParseField("duration_ms")
	q := domain.Query{Tenant: "default", Range: domain.TimeRange{Start: base, End: base + int64(spans)*1000},
		GroupBy: []domain.Field{svc}, Aggregations: []domain.Aggregation{{Op: domain.AggP99, Field: &dur}}}
	b.ResetTimer()
	for b.Loop() {
		res, err := s.Aggregate(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Rows) != 20 {
			b.Fatalf("%d groups", len(res.Rows))
		}
	}
}

// BenchWriteEvents writes batches of 10,000 realistic spans and reports
// rows/s.
func BenchWriteEvents(b *testing.B, s storage.EventStore, base int64) {
	ctx := context.Background()
	const batch = 10_000
	evs := RealisticSpans(batch, base)
	b.ResetTimer()
	for b.Loop() {
		if err := s.WriteEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}

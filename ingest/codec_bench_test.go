package ingest

import (
	"testing"

	"github.com/inquest/inquest/storage/storetest"
)

// BenchmarkDecodeMessage decodes a Kafka record of 1,000 realistic spans,
// what a writer does for every record it consumes.
func BenchmarkDecodeMessage(b *testing.B) {
	evs := storetest.RealisticSpans(1000, 1_700_000_000_000_000_000)
	rec := EncodeMessage(nil, &Message{Tenant: "default", Events: evs})
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessage(rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "spans/s")
}

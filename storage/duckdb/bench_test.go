package duckdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/storetest"
)

const benchSpans = 10_000_000

// seedSQL fills the events table with synthetic spans: 20 services, 50
// operations, 10 spans a trace, 1% errors, durations up to 100 ms, one a
// microsecond from base.
const seedSQL = `INSERT INTO events SELECT 'default', ?::BIGINT + i * ?::BIGINT, 'span', 'svc-' || (i % 20), 'op-' || (i % 50),
	printf('%032x', i // 10), printf('%016x', i), CASE WHEN i % 10 = 0 THEN NULL ELSE printf('%016x', i - i % 10) END,
	(hash(i) % 100000000)::BIGINT, CASE WHEN i % 100 = 0 THEN 'error' ELSE 'ok' END, NULL, NULL,
	['http.route', 'region'], ['/r' || (i % 30), CASE WHEN i % 3 = 0 THEN 'eu' ELSE 'us' END], [], [],
	['service.name'], ['svc-' || (i % 20)], 1.0, (hash(i) // 2)::BIGINT, 0
FROM range(?) t(i)`

var benchBase = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// openBenchStore opens (and on first use fills) a 10M-span database kept in
// the temp directory between runs, since filling it takes a while: one
// span a microsecond from benchBase (2.8 hours).
func openBenchStore(b *testing.B) *duckdb.Store {
	return openSeeded(b, "inquest-bench-10m.duckdb", 1000)
}

// openSeeded opens (and on first use fills) 10M spans, one every gap ns,
// their service map folded.
func openSeeded(b *testing.B, name string, gap int64) *duckdb.Store {
	return openSeededN(b, name, gap, benchSpans)
}

// openSeededN is openSeeded with n spans.
func openSeededN(b *testing.B, name string, gap int64, spans int) *duckdb.Store {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), name)
	s, err := duckdb.Open(ctx, duckdb.Config{Path: path}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var n int
	if err := s.DB().QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n != spans {
		start := time.Now()
		if _, err := s.DB().Exec("DELETE FROM events"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.DB().Exec(seedSQL, benchBase, gap, spans); err != nil {
			b.Fatal(err)
		}
		if err := s.RemarkEdges(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := s.DB().Exec("CHECKPOINT"); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d spans in %s", spans, time.Since(start))
	}
	start := time.Now()
	if n := foldAll(b, s); n > 0 {
		b.Logf("folded the service map of %d minutes in %s", n, time.Since(start))
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkP99ByService is the query behind a latency panel: p99 of
// duration by service over all 10M spans.
func BenchmarkP99ByService(b *testing.B) {
	s := openBenchStore(b)
	storetest.BenchP99ByService(b, s, benchBase, benchSpans)
}

// BenchmarkCountByRouteFiltered reads attributes: count by http.route for
// errors in one region.
func BenchmarkCountByRouteFiltered(b *testing.B) {
	s := openBenchStore(b)
	ctx := context.Background()
	route, _ := domain.ParseField("attr.http.route")
	region, _ := domain.ParseField("attr.region")
	status, _ := domain.ParseField("status")
	q := domain.Query{Tenant: "default", Range: domain.TimeRange{Start: benchBase, End: benchBase + int64(benchSpans)*1000},
		GroupBy: []domain.Field{route},
		Filters: []domain.Filter{{Field: region, Op: domain.OpEq, Value: "eu"}, {Field: status, Op: domain.OpEq, Value: "error"}}}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Aggregate(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteEvents appends batches of 10,000 realistic spans (6 span
// attributes, 2 of them numeric, 4 resource attributes) to a file-backed
// store, commit included.
func BenchmarkWriteEvents(b *testing.B) {
	ctx := context.Background()
	s, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(b.TempDir(), "w.duckdb")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWriteEvents(b, s, benchBase)
}

// BenchmarkWriteEventsSustained is the store as the server runs it: 1.2M
// realistic spans in batches of 10,000 into a fresh file, from 1, 2 or 4
// writers at once, at DuckDB's 16 MB checkpoint threshold, the server's
// default (256 MB) and 1 GB, timed until the store is closed (its last
// checkpoint included), so that checkpoints count as they would over a
// long run. The file's size after the last run is reported per row.
func BenchmarkWriteEventsSustained(b *testing.B) {
	for _, writers := range []int{1, 2, 4} {
		for _, ck := range []string{"16MB", config.Default().DuckDBCheckpoint, "1GB"} {
			b.Run(fmt.Sprintf("writers=%d/checkpoint=%s", writers, ck), func(b *testing.B) {
				benchWriteSustained(b, writers, ck)
			})
		}
	}
}

func benchWriteSustained(b *testing.B, writers int, checkpoint string) {
	ctx := context.Background()
	evs := storetest.RealisticSpans(10_000, benchBase)
	const total = 1_200_000
	var size int64
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "w.duckdb")
		s, err := duckdb.Open(ctx, duckdb.Config{Path: path, CheckpointThreshold: checkpoint}, nil)
		if err != nil {
			b.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			batches atomic.Int64
			failed  atomic.Pointer[error]
		)
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for batches.Add(1) <= total/int64(len(evs)) {
					if err := s.WriteEvents(ctx, evs); err != nil {
						failed.Store(&err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := failed.Load(); err != nil {
			b.Fatal(*err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		size = st.Size()
	}
	b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(size)/total, "disk-B/row")
}

// BenchmarkServiceMap is the service map over all of 10M spans (over a day,
// then over a week): read from
// the folded minutes, with a partial minute at either end joined live
// (what a user's range gets), and, for comparison, every span joined to
// its parent (what a range of minutes not yet folded costs).
func BenchmarkServiceMap(b *testing.B) {
	for _, c := range []struct {
		name string
		file string
		gap  int64
	}{{"1d", "inquest-bench-10m-1d.duckdb", int64(24*time.Hour) / benchSpans}, {"7d", "inquest-bench-10m-7d.duckdb", int64(7*24*time.Hour) / benchSpans}} {
		s := openSeeded(b, c.file, c.gap)
		ctx := context.Background()
		// Not minute-aligned: 30 s in at the start, 30 s short at the end.
		r := domain.TimeRange{Start: benchBase + int64(30*time.Second), End: benchBase + int64(benchSpans)*c.gap - int64(30*time.Second)}
		run := func(b *testing.B) {
			for b.Loop() {
				edges, err := s.ServiceMap(ctx, "default", r)
				if err != nil {
					b.Fatal(err)
				}
				if len(edges) == 0 {
					b.Fatal("no edges")
				}
			}
		}
		b.Run(c.name+"/folded", run)
		if err := s.RemarkEdges(ctx); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/joined", run)
		foldAll(b, s)
	}
}

// bubbleSeedSQL fills a table with spans of 50 attributes each, of
// cardinalities from 2 to about 2,400 values, one of them a request id
// (unique); 3% of the spans are slow and carry a7 = "bad".
const bubbleSeedSQL = `INSERT INTO events (tenant_id, ts, kind, service, name, trace_id, span_id, parent_span_id, duration_ns, status,
	severity, body, attr_keys, attr_vals, num_keys, num_vals, res_keys, res_vals, sample_rate, event_id)
SELECT 'default', ?::BIGINT + i * 1000, 'span', 'svc-' || (i % 20), 'op-' || (i % 50), printf('%032x', i // 10), printf('%016x', i), NULL,
	CASE WHEN i % 100 < 3 THEN 2000000000 ELSE 40000000 END, 'ok', NULL, NULL,
	list_transform(range(50), k -> 'a' || k),
	list_transform(range(50), k -> CASE WHEN k = 7 AND i % 100 < 3 THEN 'bad' WHEN k = 49 THEN 'req-' || i
		ELSE CAST(hash(i * 50 + k) % (k * k + 2) AS VARCHAR) END),
	[], [], [], [], 1.0, (hash(i) // 2)::BIGINT
FROM range(?) t(i)`

// BenchmarkBubbleUp1M is BubbleUp of the slow spans against the rest over
// 1M spans × 50 attributes (target ≤ 150 ms embedded).
func BenchmarkBubbleUp1M(b *testing.B) {
	ctx := context.Background()
	// Kept in the temp directory between runs: filling it takes minutes.
	s, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(os.TempDir(), "inquest-bench-bubble-1m.duckdb")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 1_000_000
	var have int
	if err := s.DB().QueryRow("SELECT count(*) FROM events").Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have != n {
		if _, err := s.DB().Exec("DELETE FROM events"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.DB().Exec(bubbleSeedSQL, benchBase, n); err != nil {
			b.Fatal(err)
		}
	}
	q := domain.BubbleUpQuery{Tenant: "default", Range: domain.TimeRange{Start: benchBase, End: benchBase + n*1000},
		Selection: []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "duration_ms"}, Op: domain.OpGt, Value: "1000"}}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := s.BubbleUp(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if top := c.Rank(10, 5); len(top.Fields) == 0 || top.Fields[0].Field != "attr.a7" {
			b.Fatalf("a7=bad is not first: %+v", top.Fields)
		}
	}
}

// foldAll folds every marked minute, a step at a time.
func foldAll(b *testing.B, s storage.EdgeFolder) int {
	total := 0
	for {
		n, err := s.FoldEdges(context.Background(), time.Now().UnixNano())
		if err != nil {
			b.Fatal(err)
		}
		if total += n; n == 0 {
			return total
		}
	}
}

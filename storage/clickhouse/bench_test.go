package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/clickhouse"
	"github.com/inquest/inquest/storage/storetest"
)

const benchSpans = 10_000_000

var benchBase = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// seedSQL is the same synthetic data as the DuckDB benchmarks: 20
// services, 50 operations, 10 spans a trace, 1% errors, durations up to
// 100 ms, one span a microsecond.
const seedSQL = `INSERT INTO %[1]s.events (tenant_id, ts, kind, service, name, trace_id, span_id, parent_span_id,
	duration_ns, status, severity, body, attr_keys, attr_vals, num_keys, num_vals, res_keys, res_vals, sample_rate, event_id)
SELECT 'default', %[2]d + number * %[4]d, 'span', concat('svc-', toString(number %% 20)), concat('op-', toString(number %% 50)),
	lower(hex(toUInt64(intDiv(number, 10)))), lower(hex(number)), if(number %% 10 = 0, '', lower(hex(toUInt64(number - number %% 10)))),
	toNullable(toInt64(cityHash64(number) %% 100000000)), if(number %% 100 = 0, 'error', 'ok'), '', '',
	['http.route', 'region'], [concat('/r', toString(number %% 30)), if(number %% 3 = 0, 'eu', 'us')],
	emptyArrayString(), emptyArrayFloat64(), ['service.name'], [concat('svc-', toString(number %% 20))], 1.0, cityHash64(number)
FROM numbers(%[3]d)`

func openBench(b *testing.B) *clickhouse.Store {
	return openBenchDB(b, "bench")
}

func openBenchDB(b *testing.B, db string) *clickhouse.Store {
	b.Helper()
	addr, _ := storetest.StartClickHouse(b)
	s, err := clickhouse.Open(context.Background(), clickhouse.Config{DSN: "clickhouse://" + addr + "/" + db}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkP99ByService is the DuckDB benchmark of the same name on
// ClickHouse: p99 of duration by service over 10M spans.
func BenchmarkP99ByService(b *testing.B) {
	s := openBench(b)
	ctx := context.Background()
	start := time.Now()
	if err := s.Conn().Exec(ctx, fmt.Sprintf(seedSQL, s.Database(), benchBase, benchSpans, 1000)); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d spans in %s", benchSpans, time.Since(start))
	storetest.BenchP99ByService(b, s, benchBase, benchSpans)
}

// BenchmarkWriteEvents inserts batches of 10,000 realistic spans, as the
// DuckDB benchmark of the same name.
func BenchmarkWriteEvents(b *testing.B) {
	s := openBench(b)
	storetest.BenchWriteEvents(b, s, benchBase)
}

// BenchmarkServiceMap is the DuckDB benchmark of the same name on
// ClickHouse: the map over 10M spans spread over 7 days, from the folded
// minutes and hours, then every span joined to its parent.
func BenchmarkServiceMap(b *testing.B) {
	s := openBenchDB(b, "bench_map")
	ctx := context.Background()
	gap := int64(7*24*time.Hour) / benchSpans
	start := time.Now()
	if err := s.Conn().Exec(ctx, fmt.Sprintf(seedSQL, s.Database(), benchBase, benchSpans, gap)); err != nil {
		b.Fatal(err)
	}
	if err := s.RemarkEdges(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d spans in %s", benchSpans, time.Since(start))
	start = time.Now()
	n := 0
	for {
		k, err := s.FoldEdges(ctx, time.Now().UnixNano())
		if err != nil {
			b.Fatal(err)
		}
		if n += k; k == 0 {
			break
		}
	}
	b.Logf("folded %d minutes in %s", n, time.Since(start))
	r := domain.TimeRange{Start: benchBase + int64(30*time.Second), End: benchBase + benchSpans*gap - int64(30*time.Second)}
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
	b.Run("7d/folded", run)
	// What ClickHouse's background merges make of the folds' many small
	// parts within minutes.
	for _, t := range []string{"edges", "edge_hours", "edge_marks", "edge_folds"} {
		if err := s.Conn().Exec(ctx, "OPTIMIZE TABLE "+s.Database()+"."+t+" FINAL"); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("7d/folded-merged", run)
	if err := s.RemarkEdges(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("7d/joined", run)
}

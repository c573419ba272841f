package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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
SELECT 'default', %[2]d + number * 1000, 'span', concat('svc-', toString(number %% 20)), concat('op-', toString(number %% 50)),
	lower(hex(toUInt64(intDiv(number, 10)))), lower(hex(number)), if(number %% 10 = 0, '', lower(hex(toUInt64(number - number %% 10)))),
	toNullable(toInt64(cityHash64(number) %% 100000000)), if(number %% 100 = 0, 'error', 'ok'), '', '',
	['http.route', 'region'], [concat('/r', toString(number %% 30)), if(number %% 3 = 0, 'eu', 'us')],
	emptyArrayString(), emptyArrayFloat64(), ['service.name'], [concat('svc-', toString(number %% 20))], 1.0, cityHash64(number)
FROM numbers(%[3]d)`

func openBench(b *testing.B) *clickhouse.Store {
	b.Helper()
	addr, _ := storetest.StartClickHouse(b)
	s, err := clickhouse.Open(context.Background(), clickhouse.Config{DSN: "clickhouse://" + addr + "/bench"}, nil)
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
	if err := s.Conn().Exec(ctx, fmt.Sprintf(seedSQL, s.Database(), benchBase, benchSpans)); err != nil {
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

package server_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/storage/storetest"
)

// spanPayload builds an ExportTraceServiceRequest of n realistic spans
// (resource and span attributes as an instrumented HTTP service sends
// them), unique per seed so that dedup keeps them all.
func spanPayload(b *testing.B, seed, n int) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", fmt.Sprintf("svc-%d", seed%8))
	ra.PutStr("service.version", "1.2.3")
	ra.PutStr("host.name", "host-1")
	ra.PutStr("deployment.environment", "prod")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	for i := range n {
		sp := spans.AppendEmpty()
		var tid [16]byte
		var sid [8]byte
		binary.BigEndian.PutUint64(tid[:8], uint64(seed)+1) // an all-zero trace ID is invalid
		binary.BigEndian.PutUint64(tid[8:], uint64(i/10))
		binary.BigEndian.PutUint64(sid[:], uint64(seed+1)<<20|uint64(i))
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		if i%10 != 0 {
			var pid [8]byte
			binary.BigEndian.PutUint64(pid[:], uint64(seed+1)<<20|uint64(i-i%10))
			sp.SetParentSpanID(pid)
		}
		sp.SetName("GET /api/orders/{id}")
		sp.SetKind(ptrace.SpanKindServer)
		start := now.Add(-time.Duration(i) * time.Millisecond)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(1+i%200) * time.Millisecond)))
		a := sp.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", "/api/orders/{id}")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("region", "eu-west")
		a.PutStr("customer.tier", "pro")
		a.PutInt("order.items", int64(i%7))
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkOTLPHTTPIngest measures OTLP/HTTP protobuf ingest end to end:
// HTTP, decode, validate, dedup, queue, batch and DuckDB append, until the
// spans are queryable. Run with -benchtime=Nx (N requests of 1,000 spans).
// The default acknowledges after a group fsync of the write-ahead log;
// the other runs show what that costs.
func BenchmarkOTLPHTTPIngest(b *testing.B) {
	for _, wal := range []struct {
		name      string
		on, fsync bool
	}{{"wal=fsync", true, true}, {"wal=nofsync", true, false}, {"wal=off", false, false}} {
		b.Run(wal.name, func(b *testing.B) {
			benchOTLPHTTPIngest(b, func(c *config.Config) { c.IngestWAL, c.IngestWALFsync = wal.on, wal.fsync })
		})
	}
}

func benchOTLPHTTPIngest(b *testing.B, mutate func(*config.Config)) {
	const perRequest = 1000
	s := startB(b, mutate)
	payloads := make([][]byte, b.N)
	for i := range payloads {
		payloads[i] = spanPayload(b, i, perRequest)
	}
	url := "http://" + s.Addrs().OTLPHTTP + "/v1/traces"
	b.SetBytes(int64(len(payloads[0])))
	b.ResetTimer()
	start := time.Now()
	sendAll(b, url, "application/x-protobuf", payloads)
	// Accepted: answered 200 by ingest (queued); spans/s below: stored.
	b.ReportMetric(float64(b.N*perRequest)/time.Since(start).Seconds(), "accepted-spans/s")
	want := b.N * perRequest
	waitFor(b, want, func() int {
		var n int
		if err := s.Store().DB().QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(want)/elapsed.Seconds(), "spans/s")
}

// sendAll posts the payloads from 4 clients, backing off when the server
// answers 503, and fails the benchmark on any other answer than 2xx.
func sendAll(b *testing.B, url, contentType string, payloads [][]byte, headers ...string) {
	var wg sync.WaitGroup
	next := make(chan []byte)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				for {
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(p))
					req.Header.Set("Content-Type", contentType)
					for i := 0; i+1 < len(headers); i += 2 {
						req.Header.Set(headers[i], headers[i+1])
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
						time.Sleep(10 * time.Millisecond) // the server asked us to back off
						continue
					}
					if resp.StatusCode/100 != 2 {
						b.Errorf("status %d", resp.StatusCode)
					}
					break
				}
			}
		}()
	}
	for _, p := range payloads {
		next <- p
	}
	close(next)
	wg.Wait()
}

// waitFor polls count until it reaches want (5 minutes at most).
func waitFor(b *testing.B, want int, count func() int) {
	for deadline := time.Now().Add(5 * time.Minute); ; {
		n := count()
		if n == want {
			return
		}
		if n > want {
			b.Fatalf("stored %d, more than the %d sent", n, want)
		}
		if time.Now().After(deadline) {
			b.Fatalf("stored %d of %d", n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startB(b *testing.B, mutate ...func(*config.Config)) *testServer {
	cfg := config.Default()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.OTLPHTTPAddr = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.DataDir = b.TempDir()
	cfg.QueueRecords = 1_000_000
	// BENCH_WRITERS and BENCH_BATCH vary the writers and their batch size
	// (--writers, --batch-size) for the tables in BENCHMARKS.md.
	for env, dst := range map[string]*int{"BENCH_WRITERS": &cfg.Writers, "BENCH_BATCH": &cfg.BatchSize} {
		if v := os.Getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				b.Fatalf("%s=%q: want a positive number", env, v)
			}
			*dst = n
		}
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return startWith(b, cfg)
}

// BenchmarkCachedAggregateGraphQL is a cache hit end to end: an HTTP POST
// to /graphql on loopback for an aggregate over a past range.
func BenchmarkCachedAggregateGraphQL(b *testing.B) {
	b.Run("local", func(b *testing.B) { benchCachedAggregate(b, "") })
	b.Run("redis", func(b *testing.B) {
		addr, _ := storetest.StartRedis(b)
		benchCachedAggregate(b, "redis://"+addr+"/0")
	})
}

func benchCachedAggregate(b *testing.B, redisURL string) {
	cfg := config.Default()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.OTLPHTTPAddr = "127.0.0.1:0", "", ""
	cfg.DataDir = b.TempDir()
	cfg.RedisURL = redisURL
	s := startWith(b, cfg)
	body := []byte(`{"query": "{ aggregate(input: {range: {from: \"2018-11-30T00:00:00Z\", to: \"2018-12-01T00:00:00Z\"}, groupBy: [\"service\"], aggregations: [{op: COUNT}, {op: P99, field: \"duration_ms\"}]}) { groups { key values } } }"}`)
	url := "http://" + s.Addrs().HTTP + "/graphql"
	post := func() {
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	post() // fill the cache
	b.ResetTimer()
	for b.Loop() {
		post()
	}
}

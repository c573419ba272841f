package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompbmarshal"
	"github.com/klauspost/compress/snappy"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/storage/clickhouse"
	"github.com/inquest/inquest/storage/storetest"
)

// BenchmarkKafkaToClickHouse is the scaled ingest path end to end: OTLP/HTTP
// into a gateway, through a Kafka topic (kfake, in process) to a writer,
// batched into a real ClickHouse, until the spans are counted there. Run
// with -benchtime=Nx (N requests of 1,000 spans).
func BenchmarkKafkaToClickHouse(b *testing.B) {
	const perRequest = 1000
	chAddr, _ := storetest.StartClickHouse(b)
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(kc.Close)
	dsn := "clickhouse://" + chAddr + "/inquest_bench"
	scaled := func(role string) config.Config {
		cfg := config.Default()
		cfg.HTTPAddr, cfg.GRPCAddr, cfg.OTLPHTTPAddr = "127.0.0.1:0", "", "127.0.0.1:0"
		cfg.DataDir = b.TempDir()
		cfg.Role, cfg.ClickHouseDSN, cfg.KafkaBrokers, cfg.KafkaPartitions = role, dsn, kc.ListenAddrs(), 4
		return cfg
	}
	startWith(b, scaled("writer"))
	gw := startWith(b, scaled("gateway"))
	ch, err := clickhouse.Open(context.Background(), clickhouse.Config{DSN: dsn}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ch.Close() })

	payloads := make([][]byte, b.N)
	for i := range payloads {
		payloads[i] = spanPayload(b, i, perRequest)
	}
	b.ResetTimer()
	start := time.Now()
	sendAll(b, "http://"+gw.Addrs().OTLPHTTP+"/v1/traces", "application/x-protobuf", payloads)
	b.ReportMetric(float64(b.N*perRequest)/time.Since(start).Seconds(), "accepted-spans/s")
	waitFor(b, b.N*perRequest, func() int {
		var n uint64
		if err := ch.Conn().QueryRow(context.Background(), "SELECT count() FROM inquest_bench.events").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return int(n)
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*perRequest)/elapsed.Seconds(), "spans/s")
}

// BenchmarkRemoteWriteVictoriaMetrics sends the same remote-write requests
// (1,000 series of 10 samples each) straight to one VictoriaMetrics and
// through Inquest to another, each timed until every sample is queryable,
// and reports the ratio of Inquest's rate to the direct one.
func BenchmarkRemoteWriteVictoriaMetrics(b *testing.B) {
	const series, perSeries = 1000, 10
	payloads := make([][]byte, b.N)
	base := time.Now().Add(-time.Hour).UnixMilli()
	for i := range payloads {
		wr := prompbmarshal.WriteRequest{}
		for s := 0; s < series; s++ {
			ts := prompbmarshal.TimeSeries{Labels: []prompbmarshal.Label{{Name: "__name__", Value: "bench_requests_total"},
				{Name: "pod", Value: fmt.Sprint("pod-", s)}, {Name: "job", Value: "bench"}}}
			for j := 0; j < perSeries; j++ {
				ts.Samples = append(ts.Samples, prompbmarshal.Sample{Value: float64(i*perSeries + j), Timestamp: base + int64(i*perSeries+j)*100})
			}
			wr.Timeseries = append(wr.Timeseries, ts)
		}
		payloads[i] = snappy.Encode(nil, wr.MarshalProtobuf(nil))
	}
	want := b.N * series * perSeries
	headers := []string{"Content-Encoding", "snappy", "X-Prometheus-Remote-Write-Version", "0.1.0"}

	direct, _ := storetest.StartVictoriaMetrics(b)
	behind, _ := storetest.StartVictoriaMetrics(b)
	cfg := config.Default()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.OTLPHTTPAddr = "127.0.0.1:0", "", ""
	cfg.DataDir, cfg.VictoriaMetricsURL, cfg.QueueRecords = b.TempDir(), behind, 2_000_000
	s := startWith(b, cfg)

	b.ResetTimer()
	start := time.Now()
	sendAll(b, direct+"/api/v1/write", "application/x-protobuf", payloads, headers...)
	waitFor(b, want, func() int { return vmSamples(b, direct) })
	directRate := float64(want) / time.Since(start).Seconds()

	start = time.Now()
	sendAll(b, s.url("/api/v1/write"), "application/x-protobuf", payloads, headers...)
	waitFor(b, want, func() int { return vmSamples(b, behind) })
	inquestRate := float64(want) / time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(directRate, "direct-samples/s")
	b.ReportMetric(inquestRate, "inquest-samples/s")
	b.ReportMetric(inquestRate/directRate, "ratio")
}

// vmSamples counts the stored samples of the benchmark's metric, after
// making VictoriaMetrics' buffered samples searchable.
func vmSamples(b *testing.B, base string) int {
	if resp, err := http.Get(base + "/internal/force_flush"); err == nil {
		resp.Body.Close()
	}
	q := url.Values{"query": {`sum(count_over_time(bench_requests_total[1d]))`}, "time": {fmt.Sprint(time.Now().Unix())}, "nocache": {"1"}}
	resp, err := http.Get(base + "/api/v1/query?" + q.Encode())
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		b.Fatalf("%v: %s", err, body)
	}
	if len(r.Data.Result) == 0 {
		return 0
	}
	var n int
	fmt.Sscan(r.Data.Result[0].Value[1].(string), &n)
	return n
}

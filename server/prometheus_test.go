package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/storage/storetest"
)

// TestPrometheusRemoteWrite runs a real Prometheus that scrapes Inquest's
// own /metrics, itself (summaries with NaN quantiles) and a target whose
// series vanish (staleness markers), and remote-writes the samples to
// Inquest; it reads them back through metricSeries and checks that
// Prometheus failed to send no sample at all.
func TestPrometheusRemoteWrite(t *testing.T) {
	bin := storetest.RequireBinary(t, "prometheus", "prometheus")
	s := start(t)
	dir := t.TempDir()
	var scrapes atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		// A summary that observed nothing: its quantiles are NaN.
		fmt.Fprint(w, "# TYPE rw_empty_summary summary\nrw_empty_summary{quantile=\"0.5\"} NaN\nrw_empty_summary{quantile=\"0.99\"} NaN\n"+
			"rw_empty_summary_sum 0\nrw_empty_summary_count 0\n")
		if n <= 3 {
			// Gone from the fourth scrape on: Prometheus writes a staleness marker.
			fmt.Fprint(w, "# TYPE rw_vanishing gauge\nrw_vanishing 42\n")
		}
	}))
	t.Cleanup(target.Close)
	promPort := storetest.FreePort(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: inquest
    static_configs:
      - targets: ["%s"]
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:%d"]
  - job_name: vanishing
    static_configs:
      - targets: ["%s"]
remote_write:
  - url: "http://%s/api/v1/write"
    queue_config:
      batch_send_deadline: 1s
      max_samples_per_send: 1000
`, s.Addrs().HTTP, promPort, strings.TrimPrefix(target.URL, "http://"), s.Addrs().HTTP)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort))
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("prometheus log:\n%s", b)
		}
	})

	type series struct {
		Labels []struct{ Key, Value string }
		Points []struct{ Value float64 }
	}
	var resp struct{ MetricSeries []series }
	eventually(t, "up{job=inquest} arrives by remote write", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "up", range: $r, step: "1m", function: LAST,
			matchers: [{name: "job", value: "inquest"}]}) { labels { key value } points { value } } }`, &resp, client.Var("r", lastHour))
		return len(resp.MetricSeries) == 1 && len(resp.MetricSeries[0].Points) > 0
	})
	assert.Equal(t, 1.0, resp.MetricSeries[0].Points[len(resp.MetricSeries[0].Points)-1].Value)
	assert.Contains(t, resp.MetricSeries[0].Labels, struct{ Key, Value string }{"instance", s.Addrs().HTTP})
	// Inquest's own counters come back too, summed over labels.
	eventually(t, "self metrics", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "inquest_http_requests_total", range: $r, step: "1m",
			function: LAST, aggregate: true}) { points { value } } }`, &resp, client.Var("r", lastHour))
		return len(resp.MetricSeries) == 1 && len(resp.MetricSeries[0].Points) > 0 && resp.MetricSeries[0].Points[0].Value > 0
	})

	eventually(t, "the vanished series' staleness marker arrives", func() bool {
		return selfMetric(t, s.url("/metrics"), "inquest_ingest_stale_markers_total") > 0
	})
	eventually(t, "the NaN summary's count arrives", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "rw_empty_summary_count", range: $r, step: "1m", function: LAST}) { points { value } } }`,
			&resp, client.Var("r", lastHour))
		return len(resp.MetricSeries) == 1
	})
	promMetrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)
	eventually(t, "Prometheus has sent samples", func() bool {
		return selfMetric(t, promMetrics, "prometheus_remote_storage_samples_total") > 0
	})
	assert.Zero(t, selfMetric(t, promMetrics, "prometheus_remote_storage_samples_failed_total"), "Prometheus dropped samples")
	for _, d := range s.deadLetters(t) {
		assert.NotEqual(t, "remote-write", d.Source, "refused: %s", d.Reason)
	}
}

// selfMetric sums a metric's series in a Prometheus text exposition.
func selfMetric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		require.NoError(t, err, line)
		sum += v
	}
	return sum
}

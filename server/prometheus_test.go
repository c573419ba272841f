package server_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/storage/storetest"
)

// TestPrometheusRemoteWrite runs a real Prometheus that scrapes Inquest's
// own /metrics and remote-writes the samples to Inquest, then reads them
// back through metricSeries.
func TestPrometheusRemoteWrite(t *testing.T) {
	bin := storetest.RequireBinary(t, "prometheus", "prometheus")
	s := start(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: inquest
    static_configs:
      - targets: ["%s"]
remote_write:
  - url: "http://%s/api/v1/write"
    queue_config:
      batch_send_deadline: 1s
      max_samples_per_send: 1000
`, s.Addrs().HTTP, s.Addrs().HTTP)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", storetest.FreePort(t)))
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
}

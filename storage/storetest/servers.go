package storetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// RequireBinary finds an installed server or tool. Without it the test
// skips on a developer machine and fails under CI=true, whose .ci/run
// installs it.
func RequireBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; CI must install it (see .ci/run)", name)
		}
		t.Skipf("%s is not installed: apt-get install %s to run this test", name, pkg)
	}
	return path
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartRedis runs a real redis-server on a free loopback port, without
// persistence, for the test's lifetime. stop ends it early.
func StartRedis(t testing.TB) (addr string, stop func()) {
	t.Helper()
	bin := RequireBinary(t, "redis-server", "redis-server")
	port := FreePort(t)
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	return addr, startServer(t, "redis-server", cmd, addr)
}

// startServer runs cmd until the test ends and waits for addr to accept
// connections. stop ends it early.
func startServer(t testing.TB, name string, cmd *exec.Cmd, addr string) (stop func()) {
	t.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before listening on %s:\n%s", name, addr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("%s did not listen on %s within 60s:\n%s", name, addr, out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a port, not waiting for an outcome
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}
	t.Cleanup(stop)
	return stop
}

// clickhouseConfig is the smallest configuration that runs a server as an
// unprivileged child of the test: loopback only, everything in dir.
const clickhouseConfig = `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%d</tcp_port>
  <http_port>%d</http_port>
  <path>%[3]s/data/</path>
  <tmp_path>%[3]s/tmp/</tmp_path>
  <user_files_path>%[3]s/user_files/</user_files_path>
  <format_schema_path>%[3]s/format_schemas/</format_schema_path>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <profiles><default></default></profiles>
  <quotas><default></default></quotas>
  <users_config>%[3]s/config.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <remote_servers>
    <inquest_test><shard><replica><host>127.0.0.1</host><port>%[1]d</port></replica></shard></inquest_test>
  </remote_servers>
</yandex>
`

// StartClickHouse runs a real clickhouse-server (Debian's package) on free
// loopback ports for the test's lifetime and returns its native-protocol
// address. A test that needs many clean stores gives each its own database
// on one server. The server knows a one-shard cluster named inquest_test
// (itself), for the Distributed tables.
func StartClickHouse(t testing.TB) (addr string, stop func()) {
	t.Helper()
	bin := RequireBinary(t, "clickhouse-server", "clickhouse-server")
	dir := t.TempDir()
	tcp, http := FreePort(t), FreePort(t)
	cfg := filepath.Join(dir, "config.xml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(clickhouseConfig, tcp, http, dir)), 0o600))
	addr = fmt.Sprintf("127.0.0.1:%d", tcp)
	cmd := exec.Command(bin, "--config-file="+cfg)
	cmd.Dir = dir
	return addr, startServer(t, "clickhouse-server", cmd, addr)
}

// StartVictoriaMetrics runs a real single-node victoria-metrics (Debian's
// package) on a free loopback port for the test's lifetime and returns its
// base URL. Queries see samples up to now (no latency offset) and keep
// ten years, so tests may write at fixed past times.
func StartVictoriaMetrics(t testing.TB) (url string, stop func()) {
	t.Helper()
	bin := RequireBinary(t, "victoria-metrics", "victoria-metrics")
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-storageDataPath="+t.TempDir(), "-httpListenAddr="+addr,
		"-retentionPeriod=10y", "-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=ERROR",
		"-memory.allowedPercent=20")
	return "http://" + addr, startServer(t, "victoria-metrics", cmd, addr)
}

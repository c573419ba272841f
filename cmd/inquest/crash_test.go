package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/storage/duckdb"
)

// child is `inquest serve` running as a separate process (this test
// binary standing in for the command), so that it can be killed -9.
type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, dataDir string, extra ...string) *child {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	args := append([]string{"serve", "--data-dir", dataDir, "--http-addr", addr, "--grpc-addr", "", "--otlp-http-addr", "",
		"--detection=false", "--flush-interval", "1s"}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "README_TEST_RUN_INQUEST=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, addr: addr}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("inquest serve not ready within a minute: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a child process, not waiting for a result
	}
}

// countService counts a service's events of the last day through the
// GraphQL API, as a client right after a restart would.
func (c *child) countService(t *testing.T, service string) int {
	t.Helper()
	q, err := json.Marshal(map[string]any{"query": `query($s: String!) { aggregate(input: {range: {from: "now-1d", to: "now"},
		filters: [{field: "service", op: EQ, value: $s}]}) { groups { values } } }`, "variables": map[string]any{"s": service}})
	require.NoError(t, err)
	resp, err := http.Post("http://"+c.addr+"/graphql", "application/json", bytes.NewReader(q))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Aggregate struct{ Groups []struct{ Values []*float64 } }
		}
		Errors []struct{ Message string }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Empty(t, out.Errors)
	if len(out.Data.Aggregate.Groups) == 0 || out.Data.Aggregate.Groups[0].Values[0] == nil {
		return 0
	}
	return int(*out.Data.Aggregate.Groups[0].Values[0])
}

// load posts batches of 100 events named round-seq from four clients until
// stop closes, and returns the names the server acknowledged (2xx),
// counting them in progress as it goes.
func (c *child) load(round int, stop <-chan struct{}, progress *atomic.Int64) []string {
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := 0; ; batch++ {
				select {
				case <-stop:
					return
				default:
				}
				var body strings.Builder
				var names []string
				for i := 0; i < 100; i++ {
					name := fmt.Sprintf("r%d-w%d-b%d-%d", round, w, batch, i)
					names = append(names, name)
					fmt.Fprintf(&body, `{"service": "crash-load", "name": %q, "attributes": {"payload": "%s"}}`+"\n", name, strings.Repeat("x", 200))
				}
				resp, err := client.Post("http://"+c.addr+"/v1/events", "application/x-ndjson", strings.NewReader(body.String()))
				if err != nil {
					continue // killed mid-request: not acknowledged
				}
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					acked = append(acked, names...)
					mu.Unlock()
					progress.Add(int64(len(names)))
				}
			}
		}()
	}
	wg.Wait()
	return acked
}

// TestKill9LosesNothingAcknowledged kills a loaded server with SIGKILL
// several times, restarting it on the same data directory each time, and
// then finds every record it ever acknowledged in the store.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	dir := t.TempDir()
	var acked []string
	for round := 0; round < 3; round++ {
		c := startChild(t, dir)
		stop := make(chan struct{})
		done := make(chan []string)
		var progress atomic.Int64
		go func() { done <- c.load(round, stop, &progress) }()
		// Kill mid-load, once thousands of records are acknowledged: the
		// writer flushes each second, so some of them are still queued.
		require.Eventually(t, func() bool { return progress.Load() >= 3000 }, time.Minute, 10*time.Millisecond)
		require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
		_ = c.cmd.Wait()
		close(stop)
		got := <-done
		require.NotEmpty(t, got, "round %d: the server acknowledged something before it was killed", round)
		acked = append(acked, got...)
	}
	// A last start replays the log; a clean stop flushes it. The server
	// says it is ready only once the replay is stored: a count right
	// after it already holds every acknowledged record (read without the
	// query cache, whose answers near now may lag by design).
	c := startChild(t, dir, "--query-cache=false")
	assert.GreaterOrEqual(t, c.countService(t, "crash-load"), len(acked), "a read right after /readyz sees the replayed records")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, c.cmd.Wait())

	store, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(dir, "inquest.duckdb")}, nil)
	require.NoError(t, err)
	defer store.Close()
	rows, err := store.DB().Query("SELECT name FROM events WHERE service = 'crash-load'")
	require.NoError(t, err)
	defer rows.Close()
	stored := map[string]int{}
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		stored[name]++
	}
	require.NoError(t, rows.Err())
	missing := 0
	for _, name := range acked {
		if stored[name] == 0 {
			missing++
		}
	}
	t.Logf("%d records acknowledged over 3 kills, %d stored, %d acknowledged and missing", len(acked), len(stored), missing)
	assert.Zero(t, missing, "records acknowledged before a kill -9 are stored after the restart")
	for name, n := range stored {
		require.Equal(t, 1, n, "%s stored once", name)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompbmarshal"
	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/snappy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// hostileLimit is the child's --memory-limit in the hostile-input suite.
const hostileLimit = 1 << 30

// send posts body as tenant and returns the status, the answer and how
// long it took.
func (c *child) send(t *testing.T, tenant, path, contentType string, body []byte) (int, string, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+c.addr+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Inquest-Tenant", tenant)
	start := time.Now()
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

// peakRSS is the child's peak resident memory (VmHWM).
func (c *child) peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// calm is a well-behaved tenant sending 50 events every 100 ms, timing
// each answer, while the attacks run.
type calm struct {
	mu        sync.Mutex
	latencies map[string][]time.Duration // by phase
	refused   atomic.Int64
	phase     atomic.Value
}

func (cl *calm) run(c *child, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	client := &http.Client{Timeout: time.Minute}
	var body strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&body, `{"service":"calm","name":"tick","seq":%d}`+"\n", i)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+c.addr+"/v1/events", strings.NewReader(body.String()))
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("X-Inquest-Tenant", "calm")
		start := time.Now()
		resp, err := client.Do(req)
		took := time.Since(start)
		if err != nil {
			cl.refused.Add(1)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			cl.refused.Add(1)
		}
		phase := cl.phase.Load().(string)
		cl.mu.Lock()
		cl.latencies[phase] = append(cl.latencies[phase], took)
		cl.mu.Unlock()
	}
}

func (cl *calm) p99(phase string) (time.Duration, int) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	l := append([]time.Duration(nil), cl.latencies[phase]...)
	if len(l) == 0 {
		return 0, 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[min(len(l)-1, len(l)*99/100)], len(l)
}

// TestHostileInputs replays every reproduction of issue #25 against a
// server process with --memory-limit 1 GiB, each payload generated here:
// each is refused with a clear 4xx or answered within its budget, the
// process's peak memory stays under the limit, and another tenant sending
// all along is never refused and keeps its latency.
func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	// A small queue, so that the flood below fills it between two of the
	// writers' flushes (a second apart) however slow the machine: without
	// fair shares the calm tenant would be refused with the flood. The
	// calm tenant holds at most 500 records a second, under its share.
	c := startChild(t, t.TempDir(), "--memory-limit", strconv.Itoa(hostileLimit), "--queue-records", "2000")
	cl := &calm{latencies: map[string][]time.Duration{}}
	cl.phase.Store("before")
	stop, done := make(chan struct{}), make(chan struct{})
	go cl.run(c, stop, done)
	require.Eventually(t, func() bool { _, n := cl.p99("before"); return n >= 20 }, time.Minute, 20*time.Millisecond, "the calm tenant's first answers")
	cl.phase.Store("attacks")

	refused := func(name string, code int, msg string, took, budget time.Duration, want int, says string) {
		t.Helper()
		assert.Equal(t, want, code, "%s: %s", name, msg)
		assert.Contains(t, msg, says, name)
		assert.Less(t, took, budget, "%s answered in %s", name, took)
		t.Logf("%-28s %d in %6s: %.120s", name, code, took.Round(time.Millisecond), strings.TrimSpace(msg))
	}

	t.Run("histogram amplification", func(t *testing.T) {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "evil")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("h")
		dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
		for i := 0; i < 100; i++ {
			dp.Attributes().PutStr(fmt.Sprint("k", i), "v")
		}
		for i := 0; i < 100_000; i++ {
			dp.BucketCounts().Append(1)
			dp.ExplicitBounds().Append(float64(i))
		}
		body, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
		require.NoError(t, err)
		code, msg, took := c.send(t, "evil", "/v1/metrics", "application/x-protobuf", body)
		refused(fmt.Sprintf("histogram (%d KB)", len(body)>>10), code, msg, took, 10*time.Second, http.StatusRequestEntityTooLarge, "labels")
	})
	t.Run("spans under an empty key", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","":[`)
		for i := 0; i < 300_000; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("{}")
		}
		b.WriteString(`]}]}]}]}`)
		code, msg, took := c.send(t, "evil", "/v1/traces", "application/json", []byte(b.String()))
		refused(fmt.Sprintf("empty-key spans (%d KB)", b.Len()>>10), code, msg, took, 10*time.Second, http.StatusRequestEntityTooLarge, "more than 200000")
	})
	t.Run("a span with a million events", func(t *testing.T) {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetName("x")
		evs := sp.Events()
		evs.EnsureCapacity(1_000_000)
		for i := 0; i < 1_000_000; i++ {
			evs.AppendEmpty().SetName("e")
		}
		body, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		code, msg, took := c.send(t, "evil", "/v1/traces", "application/x-protobuf", body)
		refused(fmt.Sprintf("span events (%d MB)", len(body)>>20), code, msg, took, 10*time.Second, http.StatusRequestEntityTooLarge, "more than 200000")
	})
	t.Run("nested event keys", func(t *testing.T) {
		// 62 KB of nesting once took 611 MB; past 10,000 levels the JSON
		// decoder refuses it, below that Inquest's own bound does.
		for _, c0 := range []struct {
			depth int
			says  string
		}{{12_000, "exceeded max depth"}, {9_000, "nested deeper than 32 levels"}} {
			body := `{"service":"evil","name":"n","a":` + strings.Repeat(`{"a":`, c0.depth) + "1" + strings.Repeat("}", c0.depth) + "}"
			code, msg, took := c.send(t, "evil", "/v1/events", "application/json", []byte(body))
			refused(fmt.Sprintf("nested keys (%d KB)", len(body)>>10), code, msg, took, 10*time.Second, http.StatusBadRequest, c0.says)
		}
	})
	t.Run("a data point with 100,000 attributes", func(t *testing.T) {
		md := pmetric.NewMetrics()
		dp := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
		for i := 0; i < 100_000; i++ {
			dp.Attributes().PutStr(fmt.Sprint("k", i), "v")
		}
		body, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
		require.NoError(t, err)
		code, msg, took := c.send(t, "evil", "/v1/metrics", "application/x-protobuf", body)
		// OTLP answers a payload that decoded with 200 and a partial
		// success naming what was refused.
		refused("100k metric attributes", code, msg, took, 10*time.Second, http.StatusOK, "more than the limit of 128")
	})
	t.Run("remote write with 30,000 labels", func(t *testing.T) {
		ts := prompbmarshal.TimeSeries{Labels: []prompbmarshal.Label{{Name: "__name__", Value: "wide"}},
			Samples: []prompbmarshal.Sample{{Value: 1, Timestamp: time.Now().UnixMilli()}}}
		for i := 0; i < 30_000; i++ {
			ts.Labels = append(ts.Labels, prompbmarshal.Label{Name: fmt.Sprint("l", i), Value: "v"})
		}
		wr := prompbmarshal.WriteRequest{Timeseries: []prompbmarshal.TimeSeries{ts}}
		code, msg, took := c.send(t, "evil", "/api/v1/write", "application/x-protobuf", snappy.Encode(nil, wr.MarshalProtobuf(nil)))
		refused("remote write 30k labels", code, msg, took, 10*time.Second, http.StatusBadRequest, "more than the limit of 128")
	})
	t.Run("a fragment bomb", func(t *testing.T) {
		var q strings.Builder
		q.WriteString("query { ...F0 }\n")
		for i := range 30 {
			fmt.Fprintf(&q, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
		}
		q.WriteString("fragment F30 on Query { __typename }\n")
		body, _ := json.Marshal(map[string]any{"query": q.String()})
		code, msg, took := c.send(t, "evil", "/graphql", "application/json", body)
		// GraphQL answers 200 with errors and no data.
		refused("fragment bomb", code, msg, took, 2*time.Second, http.StatusOK, `"message":"operation expands to more than 10000 fields`)
	})
	t.Run("300 aliased asks", func(t *testing.T) {
		var q strings.Builder
		q.WriteString("{")
		for i := 0; i < 300; i++ {
			fmt.Fprintf(&q, ` q%d: ask(question: "p99 latency of checkout over the last hour") { answer }`, i)
		}
		q.WriteString(" }")
		body, _ := json.Marshal(map[string]any{"query": q.String()})
		code, msg, took := c.send(t, "evil", "/graphql", "application/json", body)
		refused("300 asks", code, msg, took, 2*time.Second, http.StatusOK, "exceeds the limit of 2000")
	})
	t.Run("one bad line in 250", func(t *testing.T) {
		var b strings.Builder
		for i := 0; i < 250; i++ {
			if i == 100 {
				b.WriteString(`{"service": "evil-lines", "na` + "\n")
				continue
			}
			fmt.Fprintf(&b, `{"service":"evil-lines","name":"l%d"}`+"\n", i)
		}
		code, msg, took := c.send(t, "evil", "/v1/events", "application/x-ndjson", []byte(b.String()))
		refused("one bad NDJSON line", code, msg, took, 10*time.Second, http.StatusOK, `"accepted":249`)
	})
	t.Run("a websocket that never says hello", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		ws, _, err := d.Dial("ws://"+c.addr+"/graphql", nil)
		require.NoError(t, err)
		defer ws.Close()
		start := time.Now()
		require.NoError(t, ws.SetReadDeadline(time.Now().Add(30*time.Second)))
		_, _, err = ws.ReadMessage()
		require.Error(t, err, "closed by the server")
		assert.Less(t, time.Since(start), 10*time.Second)
		t.Logf("%-28s closed after %s: %v", "websocket without init", time.Since(start).Round(time.Millisecond), err)
	})
	t.Run("a flood from one tenant", func(t *testing.T) {
		var b strings.Builder
		// Batches as small as the calm tenant's, so that the queue is
		// kept full to the last record, not left with gaps a small batch
		// fits in.
		for i := 0; i < 50; i++ {
			fmt.Fprintf(&b, `{"service":"flood","name":"f","payload":"%s","seq":%d}`+"\n", strings.Repeat("x", 150), i)
		}
		body := []byte(b.String())
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		var ok, full atomic.Int64
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.addr+"/v1/events", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/x-ndjson")
					req.Header.Set("X-Inquest-Tenant", "evil")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 == 2 {
						ok.Add(1)
					} else {
						full.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		t.Logf("%-28s %d batches of 50 accepted, %d pushed back", "flood", ok.Load(), full.Load())
		assert.Positive(t, ok.Load(), "the flood is served too, up to its share")
		assert.Positive(t, full.Load(), "the flood filled its share of the queue and was pushed back")
	})

	close(stop)
	<-done
	before, n0 := cl.p99("before")
	during, n1 := cl.p99("attacks")
	peak := c.peakRSS(t)
	t.Logf("calm tenant: p99 %s over %d batches before, %s over %d during the attacks; %d refused; peak RSS %d MiB (limit %d MiB)",
		before.Round(time.Millisecond), n0, during.Round(time.Millisecond), n1, cl.refused.Load(), peak>>20, hostileLimit>>20)
	assert.Zero(t, cl.refused.Load(), "the other tenant is never refused")
	assert.Less(t, during, 2*time.Second, "the other tenant's ingest stays prompt")
	assert.Less(t, peak, int64(hostileLimit), "peak memory under --memory-limit (with the race detector too)")
}

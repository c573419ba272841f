package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/inquest/inquest/storage/storetest"
)

// BenchmarkPeerSideBySide sends the same OTLP/gRPC load (4 clients,
// requests of 1,000 spans, for PEER_SECONDS, 30 by default) to the
// smallest OpenTelemetry Collector (bench/peer: OTLP receiver, nop
// exporter) and then to `inquest serve`, each its own process, and reports
// each one's rate and CPU per span (its process's user+system time over
// the run; Inquest's until every accepted span is stored). PEER_COLLECTOR
// names the Collector binary; without it the benchmark is skipped.
func BenchmarkPeerSideBySide(b *testing.B) {
	collector := os.Getenv("PEER_COLLECTOR")
	if collector == "" {
		b.Skip("PEER_COLLECTOR names the Collector built from bench/peer")
	}
	seconds := 30
	if v, err := strconv.Atoi(os.Getenv("PEER_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	dir := b.TempDir()
	inquest := filepath.Join(dir, "inquest")
	if out, err := exec.Command("go", "build", "-o", inquest, "../cmd/inquest").CombinedOutput(); err != nil {
		b.Fatalf("build inquest: %v\n%s", err, out)
	}
	payloads := make([][]byte, 16)
	for i := range payloads {
		payloads[i] = spanPayload(b, i, 1000)
	}
	for b.Loop() {
		// The Collector.
		port := storetest.FreePort(b)
		cfg := filepath.Join(dir, "peer.yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(peerConfig, port)), 0o600); err != nil {
			b.Fatal(err)
		}
		col := startProcess(b, collector, "--config", "file:"+cfg)
		waitListening(b, port)
		cpu0 := processCPU(b, col.Process.Pid)
		sent, took := loadOTLP(b, fmt.Sprintf("127.0.0.1:%d", port), payloads, time.Duration(seconds)*time.Second)
		colCPU := processCPU(b, col.Process.Pid) - cpu0
		stopProcess(col)

		// Inquest, storing what it takes.
		grpcPort, httpPort := storetest.FreePort(b), storetest.FreePort(b)
		inq := startProcess(b, inquest, "serve", "--data-dir", filepath.Join(dir, fmt.Sprint("data-", time.Now().UnixNano())),
			"--http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort), "--grpc-addr", fmt.Sprintf("127.0.0.1:%d", grpcPort), "--otlp-http-addr", "")
		waitListening(b, grpcPort)
		cpu0 = processCPU(b, inq.Process.Pid)
		accepted, _ := loadOTLP(b, fmt.Sprintf("127.0.0.1:%d", grpcPort), payloads, time.Duration(seconds)*time.Second)
		start := time.Now().Add(-time.Duration(seconds) * time.Second)
		for deadline := time.Now().Add(5 * time.Minute); storedSpans(b, httpPort) < accepted; {
			if time.Now().After(deadline) {
				b.Fatalf("stored %d of %d", storedSpans(b, httpPort), accepted)
			}
			time.Sleep(50 * time.Millisecond)
		}
		stored := time.Since(start)
		inqCPU := processCPU(b, inq.Process.Pid) - cpu0
		stopProcess(inq)

		colRate := float64(sent) / took.Seconds()
		b.ReportMetric(colRate, "collector-spans/s")
		b.ReportMetric(colCPU.Seconds()/float64(sent)*1e6, "collector-cpu-µs/span")
		b.ReportMetric(float64(accepted)/stored.Seconds(), "inquest-stored-spans/s")
		b.ReportMetric(inqCPU.Seconds()/float64(accepted)*1e6, "inquest-cpu-µs/span")
		b.ReportMetric((inqCPU.Seconds()/float64(accepted))/(colCPU.Seconds()/float64(sent)), "cpu-ratio")
	}
}

const peerConfig = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
exporters:
  nop:
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [nop]
`

// loadOTLP sends the payloads round and round from 4 gRPC clients for d,
// each time under new trace IDs (Inquest drops spans it has already
// stored), backing off when told to, and returns the spans acknowledged
// and the time taken.
func loadOTLP(b *testing.B, addr string, payloads [][]byte, d time.Duration) (int, time.Duration) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	var spans, round atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for w := range 4 {
		own := make([]ptraceotlp.ExportRequest, len(payloads))
		for i := range own {
			own[i] = ptraceotlp.NewExportRequest()
			if err := own[i].UnmarshalProto(payloads[i]); err != nil {
				b.Fatal(err)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += 4 {
				p := own[i%len(own)]
				renumber(p, uint64(round.Add(1)))
				if _, err := client.Export(ctx, p); err != nil {
					if ctx.Err() == nil {
						time.Sleep(10 * time.Millisecond) // pushed back (429/503): wait, then go on
					}
					continue
				}
				spans.Add(int64(p.Traces().SpanCount()))
			}
		}()
	}
	wg.Wait()
	return int(spans.Load()), time.Since(start)
}

// renumber gives every span of a request a trace ID of its own round.
func renumber(p ptraceotlp.ExportRequest, round uint64) {
	rss := p.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				tid := sp.TraceID()
				binary.BigEndian.PutUint64(tid[:8], round)
				sp.SetTraceID(tid)
			}
		}
	}
}

func startProcess(b *testing.B, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stopProcess(cmd) })
	return cmd
}

func stopProcess(cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		_ = cmd.Process.Signal(os.Interrupt)
		_, _ = cmd.Process.Wait()
	}
}

func waitListening(b *testing.B, port int) {
	for deadline := time.Now().Add(30 * time.Second); ; {
		conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequest())
			cancel()
			conn.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("nothing answers on port %d: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processCPU is a process's user and system time so far (Linux).
func processCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name may hold spaces: the fields start after its ')'.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

var writerRows = regexp.MustCompile(`^inquest_writer_rows_total\{table="events"\} ([0-9.e+]+)`)

// storedSpans reads how many events Inquest's writer has stored.
func storedSpans(b *testing.B, httpPort int) int {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := writerRows.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			return int(v)
		}
	}
	return 0
}

package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/server"
)

// testServer is a real server on loopback ports chosen by the kernel.
type testServer struct {
	*server.Server
	cfg config.Config
	gql *client.Client
}

func start(t *testing.T, mutate ...func(*config.Config)) *testServer {
	t.Helper()
	return startWith(t, testConfig(t, mutate...))
}

// testConfig is the configuration start uses.
func testConfig(t *testing.T, mutate ...func(*config.Config)) config.Config {
	cfg := config.Default()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.OTLPHTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.DuckDBThreads = 2
	// These tests poll for data they just sent; the cache (whose answers
	// near now may lag by seconds) has its own tests.
	cfg.QueryCache = false
	// Their data is stored before they investigate it; the demo's test,
	// whose spans come through SDK batchers, waits as a user's would.
	cfg.InvestigationSettle = 0
	// Dozens of servers share this one test process: its resident memory
	// is theirs together, and a guard per server would read it as its own
	// (the memory tests set a limit of their own).
	cfg.MemoryLimit = -1
	for _, m := range mutate {
		m(&cfg)
	}
	return cfg
}

func startWith(t testing.TB, cfg config.Config) *testServer {
	t.Helper()
	level := slog.LevelError
	if os.Getenv("INQUEST_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return startLogged(t, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}

// startLogged starts a server that logs to logger.
func startLogged(t testing.TB, cfg config.Config, logger *slog.Logger) *testServer {
	t.Helper()
	s, err := server.New(context.Background(), cfg, logger)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, s.Shutdown(ctx))
	})
	return &testServer{Server: s, cfg: cfg, gql: client.New(s.Handler(), client.Path("/graphql"))}
}

func (s *testServer) url(path string) string { return "http://" + s.Addrs().HTTP + path }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 25*time.Millisecond, what)
}

var lastHour = map[string]any{"from": "now-1h", "to": "now+1h"}

// count runs an aggregate COUNT with filters and returns the total.
func (s *testServer) count(t *testing.T, filters ...map[string]any) float64 {
	t.Helper()
	var resp struct {
		Aggregate struct {
			Groups []struct{ Values []*float64 }
		}
	}
	if filters == nil {
		filters = []map[string]any{}
	}
	s.gql.MustPost(`query($r: TimeRangeInput!, $f: [FilterInput!]) {
		aggregate(input: {range: $r, filters: $f}) { groups { values } } }`, &resp,
		client.Var("r", lastHour), client.Var("f", filters))
	if len(resp.Aggregate.Groups) == 0 || resp.Aggregate.Groups[0].Values[0] == nil {
		return 0
	}
	return *resp.Aggregate.Groups[0].Values[0]
}

func eq(field, value string) map[string]any {
	return map[string]any{"field": field, "op": "EQ", "value": value}
}

// oneSpan is a trace of one current span of service, for protocol tests.
func oneSpan(service string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("x")
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return td
}

// keepSending posts body to /v1/events every 100 ms until the test ends:
// subscriptions register asynchronously, so a test sends until it hears.
func (s *testServer) keepSending(t *testing.T, body string, headers ...string) {
	t.Helper()
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			req, _ := http.NewRequest(http.MethodPost, s.url("/v1/events"), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
}

// next reads the subscription's next message into v, failing the test
// (and closing the subscription) when none comes within a minute: a
// stream that stays silent is a failure with a name, not a hung package.
func next(t *testing.T, sub *client.Subscription, v any) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- sub.Next(v) }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		_ = sub.Close()
		t.Fatalf("no message on the subscription within a minute")
		return nil
	}
}

package server

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/inquest/inquest/web"
)

// routes lays out :8080. Each route is instrumented under its own label so
// that /metrics shows ingest and query rates and latencies separately.
func (s *Server) routes(gql, mcpH http.Handler) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inquest_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "inquest_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"route"})
	s.registry.MustRegister(requests, latency)
	instrument := func(route string, h http.Handler) http.Handler {
		return promhttp.InstrumentHandlerDuration(latency.MustCurryWith(prometheus.Labels{"route": route}),
			promhttp.InstrumentHandlerCounter(requests.MustCurryWith(prometheus.Labels{"route": route}), h))
	}

	ingestMux := http.NewServeMux()
	s.receiver.Register(ingestMux)
	playground := web.Playground("/graphql")
	authedGQL := s.access.graphql(gql)
	graphqlRoute := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A browser opening /graphql gets GraphiQL (a static page: its
		// queries carry their own credentials); GET queries and websocket
		// upgrades go to GraphQL.
		if r.Method == http.MethodGet && r.URL.Query().Get("query") == "" && r.Header.Get("Upgrade") == "" &&
			strings.Contains(r.Header.Get("Accept"), "text/html") {
			playground.ServeHTTP(w, r)
			return
		}
		authedGQL.ServeHTTP(w, r)
	})

	mux := http.NewServeMux()
	s.healthRoutes(mux)
	if !s.runsGateway() {
		return mux // a writer answers health checks and metrics only
	}
	mux.Handle("/graphql", instrument("graphql", graphqlRoute))
	mux.Handle("/slack/interactions", instrument("/slack/interactions", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.slack == nil {
			http.Error(w, "Slack is not configured (--slack-signing-secret)", http.StatusNotImplemented)
			return
		}
		s.slack.ServeHTTP(w, r) // authenticated by Slack's signature
	})))
	if s.cfg.Demo {
		// The demo shop's deploy API: approved proposals arrive here as a
		// signed webhook (the signature is its authentication).
		mux.Handle("/demo/deploy", instrument("/demo/deploy", s.demoDeployHandler()))
	}
	for _, p := range []string{"/v1/traces", "/v1/logs", "/v1/metrics", "/api/v1/write", "/v1/events", "/v1/ingest"} {
		mux.Handle(p, instrument(p, sameOrigin(s.cfg.AllowedOrigins, s.access.ingest(ingestMux))))
	}
	// The MCP server: the same authentication as every other path; the
	// tools offered are those the credential's role allows.
	mux.Handle("/mcp", instrument("/mcp", s.access.http(mcpH)))
	mux.Handle("GET /{$}", web.Dashboard())
	mux.Handle("GET /assets/", web.Assets())
	mux.Handle("GET /app/", web.App())
	return mux
}

// healthRoutes are served in every role.
func (s *Server) healthRoutes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		if err := s.ping(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		// What the write-ahead log kept from before a stop is stored
		// first: until then a read undercounts.
		if n := s.walReplaying(); n > 0 {
			http.Error(w, fmt.Sprintf("not ready: %d records from the write-ahead log are still being stored", n), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}

// pprofHandler is Go's profiler for --pprof-addr, on its own listener so
// that it is never reachable through the authenticated API's port.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// walReplaying is how many records replayed from the write-ahead log at
// start are not stored yet (0 without a log).
func (s *Server) walReplaying() int {
	if s.wal == nil {
		return 0
	}
	return s.wal.Replaying()
}

package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompbmarshal"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/inquest/inquest/config"
)

func withAuth(c *config.Config) { c.AuthJWTSecret = jwtSecret }

// TestUpgradeWithoutCredentialIsRefused: a websocket Upgrade header does
// not skip authentication; only GraphQL, which authenticates in
// connection_init, lets a header-less upgrade through.
func TestUpgradeWithoutCredentialIsRefused(t *testing.T) {
	s := start(t, withAuth)
	for _, path := range []string{"/mcp", "/v1/events", "/api/v1/write"} {
		req, _ := http.NewRequest(http.MethodGet, s.url(path), nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
	}
}

// TestConnectionAckCarriesNoSecret: the acknowledgement of a websocket
// does not echo the bearer token it was opened with.
func TestConnectionAckCarriesNoSecret(t *testing.T) {
	s := start(t, withAuth)
	tok := token(t, "acme", time.Hour)
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := dialer.Dial("ws://"+s.Addrs().HTTP+"/graphql", nil)
	require.NoError(t, err)
	defer conn.Close()
	resp.Body.Close()
	require.NoError(t, conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + tok}}))
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, raw, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Contains(t, string(raw), "connection_ack")
	assert.NotContains(t, string(raw), tok[len(tok)-20:], "the token is not sent back")
}

// nextWithin waits for the subscription's next message or its end.
func nextWithin(t *testing.T, sub *client.Subscription, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		var msg map[string]any
		done <- sub.Next(&msg)
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("the subscription neither sent nor ended within %s", d)
		return nil
	}
}

// TestSubscriptionEndsWithItsCredential: a subscription ends when its
// token expires, and when its API key is revoked.
func TestSubscriptionEndsWithItsCredential(t *testing.T) {
	s := start(t, withAuth, func(c *config.Config) { c.AuthRecheckInterval = 100 * time.Millisecond })
	short := token(t, "acme", 2*time.Second)
	sub := s.gql.WebsocketWithPayload(`subscription { tail(filters: [{field: "service", op: EQ, value: "nothing-sends"}]) { service } }`,
		map[string]any{"Authorization": "Bearer " + short})
	defer sub.Close()
	assert.Error(t, nextWithin(t, sub, 15*time.Second), "the connection closes at the token's exp")

	admin := tokenWithRoles(t, "acme", time.Hour, "admin")
	ac := client.New(s.Handler(), client.Path("/graphql"), client.AddHeader("Authorization", "Bearer "+admin))
	var created struct {
		CreateAPIKey struct {
			Key    struct{ ID string }
			Secret string
		}
	}
	ac.MustPost(`mutation { createAPIKey(name: "tailer", role: VIEWER) { key { id } secret } }`, &created)
	sub2 := s.gql.WebsocketWithPayload(`subscription { tail(filters: [{field: "service", op: EQ, value: "nothing-sends"}]) { service } }`,
		map[string]any{"Authorization": "Bearer " + created.CreateAPIKey.Secret})
	defer sub2.Close()
	var revoked struct{ RevokeAPIKey struct{ ID string } }
	// The subscription is registered asynchronously; revoking right away
	// still ends it at the next check.
	ac.MustPost(`mutation($id: ID!) { revokeAPIKey(id: $id) { id } }`, &revoked, client.Var("id", created.CreateAPIKey.Key.ID))
	assert.Error(t, nextWithin(t, sub2, 15*time.Second), "the connection closes once the key is revoked")
}

// TestIngestRole: an ingest credential sends data and reads nothing; a
// credential with no role sends nothing; with --ingest-role-required a
// viewer sends nothing either.
func TestIngestRole(t *testing.T) {
	s := start(t, withAuth)
	ingestOnly := tokenWithRoles(t, "acme", time.Hour, "ingest")
	code, msg, _ := post(t, s.url("/v1/events"), "application/json", []byte(`{"service":"collector","name":"x"}`), "Authorization", "Bearer "+ingestOnly)
	assert.Equal(t, http.StatusOK, code, msg)
	reader := client.New(s.Handler(), client.Path("/graphql"), client.AddHeader("Authorization", "Bearer "+ingestOnly))
	var out map[string]any
	err := reader.Post(`{ services(range: {from: "now-1h", to: "now"}) { name } }`, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "needs the viewer role")
	none := tokenWithRoles(t, "acme", time.Hour)
	code, msg, _ = post(t, s.url("/v1/events"), "application/json", []byte(`{"service":"collector","name":"x"}`), "Authorization", "Bearer "+none)
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, msg, "ingest role")
	viewer := token(t, "acme", time.Hour)
	code, _, _ = post(t, s.url("/v1/events"), "application/json", []byte(`{"service":"collector","name":"y"}`), "Authorization", "Bearer "+viewer)
	assert.Equal(t, http.StatusOK, code, "viewer and above still send unless the flag says otherwise")

	strict := start(t, withAuth, func(c *config.Config) { c.IngestRoleRequired = true })
	code, _, _ = post(t, strict.url("/v1/events"), "application/json", []byte(`{"service":"collector","name":"z"}`), "Authorization", "Bearer "+viewer)
	assert.Equal(t, http.StatusForbidden, code)
	code, _, _ = post(t, strict.url("/v1/events"), "application/json", []byte(`{"service":"collector","name":"z"}`), "Authorization", "Bearer "+ingestOnly)
	assert.Equal(t, http.StatusOK, code)
}

// TestIntrospectionNeedsRole: the schema is read by credentials with a
// role, not by one that may only ingest.
func TestIntrospectionNeedsRole(t *testing.T) {
	s := start(t, withAuth)
	const q = `{ __schema { queryType { name } } }`
	var out map[string]any
	ingestOnly := client.New(s.Handler(), client.Path("/graphql"), client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "acme", time.Hour, "ingest")))
	err := ingestOnly.Post(q, &out)
	require.Error(t, err)
	assert.Contains(t, strings.ToLower(err.Error()), "introspection")
	viewer := client.New(s.Handler(), client.Path("/graphql"), client.AddHeader("Authorization", "Bearer "+token(t, "acme", time.Hour)))
	require.NoError(t, viewer.Post(q, &out))
}

// TestSubscriptionsPerTenant: past the limit a tenant's next subscription
// is refused, saying why.
func TestSubscriptionsPerTenant(t *testing.T) {
	s := start(t, func(c *config.Config) { c.MaxSubscriptionsPerTenant = 2 })
	const q = `subscription { tail(filters: [{field: "service", op: EQ, value: "quiet"}]) { service } }`
	s.keepSending(t, `{"service":"quiet","name":"x"}`)
	// Two subscriptions, each seen streaming (so registered) before the
	// next opens: the limit is then reached for certain.
	var subs []*client.Subscription
	for range 2 {
		sub := s.gql.Websocket(q)
		defer sub.Close()
		require.NoError(t, nextWithin(t, sub, 30*time.Second))
		subs = append(subs, sub)
	}
	third := s.gql.Websocket(q)
	defer third.Close()
	err := nextWithin(t, third, 30*time.Second)
	require.Error(t, err, "a third subscription is refused")
	assert.Contains(t, err.Error(), "max-subscriptions-per-tenant")
	// Another tenant's subscriptions are its own: it streams.
	other := client.New(s.Handler(), client.Path("/graphql"), client.AddHeader("X-Inquest-Tenant", "other"))
	sub := other.Websocket(q)
	defer sub.Close()
	s.keepSending(t, `{"service":"quiet","name":"x"}`, "X-Inquest-Tenant", "other")
	assert.NoError(t, nextWithin(t, sub, 15*time.Second))
	assert.Len(t, subs, 2)
}

// TestTrickledBodyIsCutOff: a client that sends its body a byte at a time
// is cut off at the read timeout instead of holding the connection.
func TestTrickledBodyIsCutOff(t *testing.T) {
	s := start(t, func(c *config.Config) { c.HTTPReadTimeout = time.Second })
	conn, err := net.Dial("tcp", s.Addrs().HTTP)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closed the connection before 15 s: %v", err)
}

// TestSSEOutlivesReadTimeout: an SSE subscription is not cut by the read
// timeout once its request is read.
func TestSSEOutlivesReadTimeout(t *testing.T) {
	s := start(t, func(c *config.Config) { c.HTTPReadTimeout = time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lines := tailSSE(ctx, t, s)
	opened := time.Now()
	for {
		require.NoError(t, sendTailEvents(s))
		select {
		case l, ok := <-lines:
			require.True(t, ok, "the stream ended %s after it opened", time.Since(opened))
			if strings.HasPrefix(l, "data: ") && time.Since(opened) > 3*time.Second {
				return // still streaming three read timeouts later
			}
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no event over SSE")
		}
	}
}

// TestPoisonStringsHurtNobody: a tenant's spans and samples with invalid
// UTF-8 are stored with U+FFFD in place of the bad bytes, and another
// tenant's records sent at the same time are all stored, none refused.
func TestPoisonStringsHurtNobody(t *testing.T) {
	s := start(t)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "poison\xffsvc")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("GET \xfe/x")
	sp.SetTraceID([16]byte{9})
	sp.SetSpanID([8]byte{9})
	now := time.Now()
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	code, msg, _ := post(t, s.url("/v1/traces"), "application/x-protobuf", body, "X-Inquest-Tenant", "tenant-a")
	require.Equal(t, http.StatusOK, code, msg)
	rw := remoteWrite(t, prompbmarshal.TimeSeries{
		Labels:  []prompbmarshal.Label{{Name: "__name__", Value: "bad\xffmetric"}, {Name: "job", Value: "x\xfey"}},
		Samples: []prompbmarshal.Sample{{Value: 1, Timestamp: now.UnixMilli()}},
	})
	code, msg, _ = post(t, s.url("/api/v1/write"), "application/x-protobuf", rw, "Content-Encoding", "snappy", "X-Inquest-Tenant", "tenant-a")
	require.Equal(t, http.StatusNoContent, code, msg)
	code, msg, _ = post(t, s.url("/v1/events"), "application/x-ndjson", spansJSON("tenant-b-svc", 50, 5*time.Second, ""), "X-Inquest-Tenant", "tenant-b")
	require.Equal(t, http.StatusOK, code, msg)

	a := client.New(s.Handler(), client.Path("/graphql"), client.AddHeader("X-Inquest-Tenant", "tenant-a"))
	b := client.New(s.Handler(), client.Path("/graphql"), client.AddHeader("X-Inquest-Tenant", "tenant-b"))
	var svcs struct{ Services []struct{ Name string } }
	eventually(t, "tenant-a's span stored, its bad bytes replaced", func() bool {
		a.MustPost(`{ services(range: {from: "now-1h", to: "now+1m"}) { name } }`, &svcs)
		return len(svcs.Services) == 1 && svcs.Services[0].Name == "poison\uFFFDsvc"
	})
	var names struct{ MetricNames []string }
	a.MustPost(`{ metricNames(range: {from: "now-1h", to: "now+1m"}) }`, &names)
	assert.Equal(t, []string{"bad\uFFFDmetric"}, names.MetricNames)
	eventually(t, "tenant-b's 50 spans stored", func() bool {
		var resp struct {
			Services []struct {
				Name      string
				SpanCount int
			}
		}
		b.MustPost(`{ services(range: {from: "now-1h", to: "now+1m"}) { name spanCount } }`, &resp)
		return len(resp.Services) == 1 && resp.Services[0].SpanCount == 50
	})
	var dls struct{ DeadLetters []struct{ ID string } }
	b.MustPost(`{ deadLetters(range: {from: "now-1h", to: "now+1m"}) { id } }`, &dls)
	assert.Empty(t, dls.DeadLetters, "nothing of tenant-b was refused")
}

// TestCostlyQueryRefusedUpFront: hundreds of aliased distinct counts over
// a week are refused before anything runs, saying why; one is fine.
func TestCostlyQueryRefusedUpFront(t *testing.T) {
	s := start(t)
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 660; i++ {
		fmt.Fprintf(&b, ` a%d: aggregate(input: {range: {from: "now-7d", to: "now"}, aggregations: [{op: COUNT_DISTINCT, field: "attr.user"}]}) { columns }`, i)
	}
	b.WriteString(" }")
	var out map[string]any
	err := s.gql.Post(b.String(), &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exceeds the limit of 2000")
	require.NoError(t, s.gql.Post(`{ aggregate(input: {range: {from: "now-7d", to: "now"}, aggregations: [{op: COUNT_DISTINCT, field: "attr.user"}, {op: P99, field: "duration_ms"}]}) { columns } }`, &out))

	// A question runs queries too: three hundred aliased asks are refused
	// before any runs.
	b.Reset()
	b.WriteString("{")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, ` q%d: ask(question: "p99 latency of checkout over the last hour") { answer }`, i)
	}
	b.WriteString(" }")
	err = s.gql.Post(b.String(), &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exceeds the limit of 2000")
}

// TestNearMemoryLimit: past 90% of --memory-limit ingest answers 503 with
// Retry-After and queries that scan are refused, each saying why, instead
// of the process growing until it is killed.
func TestNearMemoryLimit(t *testing.T) {
	s := start(t, func(c *config.Config) { c.MemoryLimit = 1 << 20 }) // any running process is past 1 MiB
	code, msg, hdr := post(t, s.url("/v1/events"), "application/json", []byte(`{"service":"s","name":"x"}`))
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, msg, "memory limit")
	assert.NotEmpty(t, hdr.Get("Retry-After"))
	var out map[string]any
	err := s.gql.Post(`{ aggregate(input: {range: {from: "now-1h", to: "now"}}) { columns } }`, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "near its memory limit")
	require.NoError(t, s.gql.Post(`{ rules { id } }`, &out), "what does not scan still answers")
}

// TestRetentionPrunes: the server deletes what a tenant's retention has
// passed, on its own, and keeps the other tenants' records.
func TestRetentionPrunes(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.PruneInterval = 100 * time.Millisecond
		c.TenantRetention = map[string]string{"brief": "1ns"}
	})
	for _, tenant := range []string{"brief", "kept"} {
		code, msg, _ := post(t, s.url("/v1/events"), "application/json", []byte(`{"service":"s","name":"x"}`), "X-Inquest-Tenant", tenant)
		require.Equal(t, http.StatusOK, code, msg)
	}
	eventually(t, "the brief tenant's event pruned", func() bool { return selfMetric(t, s.url("/metrics"), "inquest_pruned_rows_total") >= 1 })
	eventually(t, "the other tenant's kept", func() bool {
		var n int
		_ = s.Store().DB().QueryRow("SELECT count(*) FROM events WHERE tenant_id = 'kept'").Scan(&n)
		return n == 1
	})
	var n int
	require.NoError(t, s.Store().DB().QueryRow("SELECT count(*) FROM events WHERE tenant_id = 'brief'").Scan(&n))
	assert.Zero(t, n)
}

// TestManyEmptySpansRefused: a request of more empty spans than the limit
// (16 MiB of them is 8 million) is refused with 413 from a count of the
// wire format, on the OTLP path and through auto-detection alike.
func TestManyEmptySpansRefused(t *testing.T) {
	s := start(t)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < 250_000; i++ {
		spans.AppendEmpty()
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	for _, path := range []string{"/v1/traces", "/v1/ingest"} {
		code, msg, _ := post(t, s.url(path), "application/x-protobuf", body)
		assert.Equal(t, http.StatusRequestEntityTooLarge, code, path)
		assert.Contains(t, msg, "250000 spans", path)
	}
	// OTLP/JSON: counted on the bytes before it is decoded.
	js, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	require.NoError(t, err)
	code, msg, _ := post(t, s.url("/v1/traces"), "application/json", js)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, "OTLP/JSON")
	assert.Contains(t, msg, "250000 spans")
	// OTLP/gRPC: refused from the wire, before it is decoded.
	conn, err := grpc.NewClient(s.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "250000 records, more than 200000: send smaller batches")
	// A normal request still goes through the same codec.
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(oneSpan("grpc-ok")))
	require.NoError(t, err)
}

// TestFragmentBombRefused: 28 chained fragments that each spread the next
// twice (2^28 fields from about a kilobyte) are refused by their expanded
// size, before any check walks every spread.
func TestFragmentBombRefused(t *testing.T) {
	s := start(t)
	var q strings.Builder
	q.WriteString("query { ...F0 }\n")
	const links = 28
	for i := range links {
		fmt.Fprintf(&q, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&q, "fragment F%d on Query { __typename }\n", links)
	body, _ := json.Marshal(map[string]any{"query": q.String()})
	code, msg, _ := post(t, s.url("/graphql"), "application/json", body)
	assert.Contains(t, msg, "expands to more than 10000 fields", "code %d", code)
}

package server_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/server"
)

const jwtSecret = "test-secret-of-at-least-32-bytes!!"

func token(t *testing.T, tenant string, ttl time.Duration) string {
	t.Helper()
	return tokenWithRoles(t, tenant, ttl, "viewer")
}

func tokenWithRoles(t *testing.T, tenant string, ttl time.Duration, roles ...string) string {
	t.Helper()
	c := auth.Claims{Tenant: tenant, Roles: roles, RegisteredClaims: jwt.RegisteredClaims{
		Subject: "user-" + tenant, ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl)), Audience: jwt.ClaimStrings{"inquest"}}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(jwtSecret))
	require.NoError(t, err)
	return s
}

// tokenFor is a token of a named person of the tenant with the roles.
func tokenFor(t *testing.T, tenant, subject string, roles ...string) string {
	t.Helper()
	c := auth.Claims{Tenant: tenant, Roles: roles, RegisteredClaims: jwt.RegisteredClaims{
		Subject: subject, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)), Audience: jwt.ClaimStrings{"inquest"}}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(jwtSecret))
	require.NoError(t, err)
	return s
}

func TestAuthRequired(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret, c.AuthJWTAudience = jwtSecret, "inquest" })
	acme, globex := token(t, "acme", time.Hour), token(t, "globex", time.Hour)

	// No token, a bad token: 401 on GraphQL and on every ingest path.
	for _, path := range []string{"/graphql", "/v1/events", "/v1/ingest", "/v1/traces", "/api/v1/write", "/mcp"} {
		code, msg, hdr := post(t, s.url(path), "application/json", []byte(`{"query": "{ metricNames(range: {from: \"now-1h\", to: \"now\"}) }"}`))
		assert.Equal(t, http.StatusUnauthorized, code, path)
		assert.Contains(t, msg, "authentication required", path)
		assert.Contains(t, hdr.Get("WWW-Authenticate"), "Bearer", path)
	}
	code, msg, _ := post(t, s.url("/v1/events"), "application/json", []byte(`{}`), "Authorization", "Bearer "+token(t, "acme", -time.Hour))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, msg, "expired")
	code, _, _ = post(t, "http://"+s.Addrs().OTLPHTTP+"/v1/traces", "application/json", []byte(`{}`))
	assert.Equal(t, http.StatusUnauthorized, code)
	code, msg, _ = post(t, s.url("/mcp"), "application/json", []byte(`{"jsonrpc": "2.0", "id": 1, "method": "initialize",
		"params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}}}`),
		"Authorization", "Bearer "+acme, "Accept", "application/json, text/event-stream")
	assert.Equal(t, http.StatusOK, code, "with a token, MCP answers")
	assert.Contains(t, msg, `"serverInfo"`)

	// The tenant comes from the token; X-Inquest-Tenant is ignored.
	code, msg, _ = post(t, s.url("/v1/events"), "application/json", []byte(`{"service": "acme-svc", "name": "n"}`),
		"Authorization", "Bearer "+acme, "X-Inquest-Tenant", "globex")
	require.Equal(t, http.StatusOK, code, msg)
	code, msg, _ = post(t, s.url("/v1/events"), "application/json", []byte(`{"service": "globex-svc", "name": "n"}`),
		"Authorization", "Bearer "+globex)
	require.Equal(t, http.StatusOK, code, msg)

	services := func(tok string) []string {
		var resp struct{ Services []struct{ Name string } }
		s.gql.MustPost(`query($r: TimeRangeInput!) { services(range: $r) { name } }`, &resp, client.Var("r", lastHour),
			client.AddHeader("Authorization", "Bearer "+tok), client.AddHeader("X-Inquest-Tenant", "globex"))
		var names []string
		for _, n := range resp.Services {
			names = append(names, n.Name)
		}
		return names
	}
	eventually(t, "acme sees its own service only", func() bool {
		got := services(acme)
		return len(got) == 1 && got[0] == "acme-svc"
	})
	assert.Equal(t, []string{"globex-svc"}, services(globex))

	// Health and metrics stay open for probes and scrapers; GraphiQL is a
	// static page.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(s.url(p))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, p)
	}
	req, _ := http.NewRequest(http.MethodGet, s.url("/graphql"), nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestAuthGRPCAndWebsocket(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	acme := token(t, "acme", time.Hour)

	conn, err := grpc.NewClient(s.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	td := oneSpan("grpc-svc")
	req := ptraceotlp.NewExportRequestFromTraces(td)
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), req)
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+acme)
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, req)
	require.NoError(t, err)

	// A websocket authenticates in connection_init; without a token the
	// connection is refused. (Dialled directly: gqlgen's client leaves its
	// in-test server running when the handshake fails.)
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(s.url("/graphql"), "http://", "ws://", 1),
		http.Header{"Sec-WebSocket-Protocol": {"graphql-ws"}})
	require.NoError(t, err)
	require.NoError(t, ws.WriteJSON(map[string]any{"type": "connection_init"}))
	var refused struct{ Type string }
	require.NoError(t, ws.ReadJSON(&refused))
	assert.Equal(t, "connection_error", refused.Type)
	_ = ws.Close()

	sub := s.gql.WebsocketWithPayload(`subscription { tail(filters: [{field: "service", op: EQ, value: "ws-svc"}]) { service } }`, map[string]any{"Authorization": "Bearer " + acme})
	defer sub.Close()
	s.keepSending(t, `{"service": "ws-svc", "name": "n"}`, "Authorization", "Bearer "+acme)
	var got struct{ Tail struct{ Service string } }
	require.NoError(t, next(t, sub, &got))
	assert.Equal(t, "ws-svc", got.Tail.Service)
}

// Binding beyond loopback without authentication is refused unless asked
// for explicitly.
func TestNoAuthOnlyOnLoopback(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "0.0.0.0:8080"
	_, err := server.New(context.Background(), cfg, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--insecure-no-auth")

	cfg.InsecureNoAuth = true
	s, err := server.New(context.Background(), cfg, nil)
	require.NoError(t, err)
	require.NoError(t, s.Shutdown(context.Background()))

	cfg.InsecureNoAuth, cfg.AuthJWTSecret = false, "short"
	_, err = server.New(context.Background(), cfg, nil)
	assert.ErrorContains(t, err, "at least 32 bytes")
}

func TestRoleChecks(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	mint := func(roles ...string) string {
		c := auth.Claims{Tenant: "acme", Roles: roles, RegisteredClaims: jwt.RegisteredClaims{
			Subject: "u", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(jwtSecret))
		require.NoError(t, err)
		return "Bearer " + tok
	}
	var out map[string]any
	read := `{ metricNames(range: {from: "now-1h", to: "now"}) }`
	write := `mutation { replayDeadLetter(id: "x") { accepted } }`

	err := s.gql.Post(read, &out, client.AddHeader("Authorization", mint("ingest")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "forbidden: metricNames needs the viewer role")
	require.NoError(t, s.gql.Post(read, &out, client.AddHeader("Authorization", mint("viewer"))))

	err = s.gql.Post(write, &out, client.AddHeader("Authorization", mint("viewer")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "forbidden: replayDeadLetter needs the responder role")
	// A responder (or anything above) gets past the role check to the
	// resolver, which then does not find the dead letter.
	for _, role := range []string{"responder", "admin"} {
		err = s.gql.Post(write, &out, client.AddHeader("Authorization", mint(role)))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not found", role)
	}
}

func TestAPIKeys(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	admin := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "acme", time.Hour, "admin"))
	viewer := client.AddHeader("Authorization", "Bearer "+token(t, "acme", time.Hour))

	var created struct {
		CreateAPIKey struct {
			Key struct {
				ID, Name, Role, CreatedBy string
			}
			Secret string
		}
	}
	var out map[string]any
	err := s.gql.Post(`mutation { createAPIKey(name: "collector", role: VIEWER) { secret } }`, &out, viewer)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "forbidden: createAPIKey needs the admin role")
	s.gql.MustPost(`mutation { createAPIKey(name: "collector", role: VIEWER) { key { id name role createdBy } secret } }`, &created, admin)
	key := created.CreateAPIKey
	assert.Equal(t, "VIEWER", key.Key.Role)
	assert.Equal(t, "user-acme", key.Key.CreatedBy)
	require.True(t, strings.HasPrefix(key.Secret, "iqk_"+key.Key.ID+"_"))

	// The key ingests and reads as tenant acme with its role.
	code, msg, _ := post(t, s.url("/v1/events"), "application/json", []byte(`{"service": "keyed", "name": "n"}`), "Authorization", "Bearer "+key.Secret)
	require.Equal(t, http.StatusOK, code, msg)
	withKey := client.AddHeader("Authorization", "Bearer "+key.Secret)
	eventually(t, "the key reads its tenant's data", func() bool {
		var resp struct{ Services []struct{ Name string } }
		if err := s.gql.Post(`{ services(range: {from: "now-1h", to: "now+1h"}) { name } }`, &resp, withKey); err != nil {
			return false
		}
		return len(resp.Services) == 1 && resp.Services[0].Name == "keyed"
	})
	err = s.gql.Post(`{ apiKeys { id } }`, &out, withKey)
	require.Error(t, err, "a viewer key cannot list keys")

	var list struct {
		APIKeys []struct {
			ID         string
			LastUsedAt *string
		}
	}
	s.gql.MustPost(`{ apiKeys { id lastUsedAt } }`, &list, admin)
	require.Len(t, list.APIKeys, 1)
	assert.NotNil(t, list.APIKeys[0].LastUsedAt)

	// Only the SHA-256 of the secret is stored.
	var hash []byte
	require.NoError(t, s.Store().DB().QueryRow("SELECT secret_hash FROM api_keys WHERE id = ?", key.Key.ID).Scan(&hash))
	sum := sha256.Sum256([]byte(strings.TrimPrefix(key.Secret, "iqk_"+key.Key.ID+"_")))
	assert.Equal(t, sum[:], hash)

	// Another tenant's admin cannot revoke it; its own admin can, at once.
	err = s.gql.Post(`mutation($id: ID!) { revokeAPIKey(id: $id) { id } }`, &out, client.Var("id", key.Key.ID),
		client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "globex", time.Hour, "admin")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not found")
	s.gql.MustPost(`mutation($id: ID!) { revokeAPIKey(id: $id) { revokedAt } }`, &out, client.Var("id", key.Key.ID), admin)
	code, msg, _ = post(t, s.url("/v1/events"), "application/json", []byte(`{"service": "keyed", "name": "n"}`), "Authorization", "Bearer "+key.Secret)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, msg, "API key revoked")
	code, msg, _ = post(t, s.url("/v1/events"), "application/json", []byte(`{}`), "Authorization", "Bearer iqk_nope_nope")
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, msg, "invalid API key")
}

func TestUsageMetering(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	admin := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "acme", time.Hour, "admin"))
	body := []byte("{\"service\": \"m\", \"name\": \"a\"}\n{\"service\": \"m\", \"name\": \"b\"}\n{\"service\": \"m\", \"name\": \"c\"}")
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", body, "Authorization", "Bearer "+tokenWithRoles(t, "acme", time.Hour, "viewer"))
	require.Equal(t, http.StatusOK, code, msg)
	var names map[string]any
	s.gql.MustPost(`{ metricNames(range: {from: "now-1h", to: "now"}) }`, &names, admin)
	var resp struct {
		Usage []struct {
			Tenant                 string
			Events, Bytes, Queries int64
		}
	}
	s.gql.MustPost(`{ usage(range: {from: "now-2h", to: "now+1h"}) { tenant events bytes queries } }`, &resp, admin)
	require.Len(t, resp.Usage, 1)
	u := resp.Usage[0]
	assert.Equal(t, "acme", u.Tenant)
	assert.Equal(t, int64(3), u.Events)
	assert.Equal(t, int64(len(body)), u.Bytes)
	assert.Equal(t, int64(2), u.Queries, "metricNames and this usage query")
}

// TestAuditLog checks that admin actions, refused requests and refused API
// keys land in the tenant's audit log.
func TestAuditLog(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	admin := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "acme", time.Hour, "admin"))
	viewer := client.AddHeader("Authorization", "Bearer "+token(t, "acme", time.Hour))
	var created struct {
		CreateAPIKey struct {
			Key    struct{ ID string }
			Secret string
		}
	}
	s.gql.MustPost(`mutation { createAPIKey(name: "ci", role: VIEWER) { key { id } secret } }`, &created, admin)
	id := created.CreateAPIKey.Key.ID
	var out map[string]any
	require.Error(t, s.gql.Post(`mutation { createAPIKey(name: "x", role: ADMIN) { secret } }`, &out, viewer))
	s.gql.MustPost(`mutation($id: ID!) { revokeAPIKey(id: $id) { id } }`, &out, client.Var("id", id), admin)
	code, _, _ := post(t, s.url("/v1/events"), "application/json", []byte(`{}`), "Authorization", "Bearer "+created.CreateAPIKey.Secret)
	require.Equal(t, http.StatusUnauthorized, code)

	var log struct {
		AuditLog []struct{ Actor, Action, Target, Outcome, Detail string }
	}
	s.gql.MustPost(`{ auditLog(range: {from: "now-1h", to: "now+1m"}) { actor action target outcome detail } }`, &log, admin)
	type line struct{ actor, action, target, outcome string }
	var got []line
	for _, e := range log.AuditLog {
		got = append(got, line{e.Actor, e.Action, e.Target, e.Outcome})
	}
	assert.Equal(t, []line{
		{"apikey:" + id, "auth.api_key", id, "failed"},
		{"user-acme", "api_key.revoke", id, "ok"},
		{"user-acme", "access.denied", "createAPIKey", "denied"},
		{"user-acme", "api_key.create", id, "ok"},
	}, got, "newest first")
}

// TestSilentWebsocketIsClosed: a websocket that never sends
// connection_init is closed by the server after a few seconds, with
// authentication off as on.
func TestSilentWebsocketIsClosed(t *testing.T) {
	s := start(t)
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(s.url("/graphql"), "http://", "ws://", 1),
		http.Header{"Sec-WebSocket-Protocol": {"graphql-transport-ws"}})
	require.NoError(t, err)
	defer ws.Close()
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(30*time.Second)))
	opened := time.Now()
	for {
		if _, _, err = ws.ReadMessage(); err != nil {
			break // closed by the server: what is asserted below
		}
	}
	var ne interface{ Timeout() bool }
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "closed by the server, not by our own deadline: %v", err)
	assert.Less(t, time.Since(opened), 20*time.Second)
}

package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
)

// mcpSession is an MCP client of a test server's /mcp with a token.
func mcpSession(t *testing.T, s *testServer, token string) *mcpclient.Client {
	t.Helper()
	var opts []transport.StreamableHTTPCOption
	if token != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	c, err := mcpclient.NewStreamableHttpClient(s.url("/mcp"), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Start(context.Background()))
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "inquest-test", Version: "1"}
	_, err = c.Initialize(context.Background(), init)
	require.NoError(t, err)
	return c
}

// callTool calls a tool and returns its text and whether it was an error.
func callTool(t *testing.T, c *mcpclient.Client, name string, args map[string]any) (string, bool) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(context.Background(), req)
	require.NoError(t, err, name)
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String(), res.IsError
}

func toolNames(t *testing.T, c *mcpclient.Client) []string {
	t.Helper()
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	require.NoError(t, err)
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// TestMCPOverHTTP: a real MCP client over streamable HTTP. A viewer's
// token lists the read-only tools with their schemas and annotations and
// no write tool; a responder's lists approve and reject too. Bad
// arguments come back as tool errors naming the problem, a write call is
// audited with channel mcp, calls are counted per tool on /metrics, and
// no token is refused before MCP begins.
func TestMCPOverHTTP(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	events := cartEvents(time.Now().UTC())
	viewer := tokenFor(t, "acme", "vera", "viewer")
	ingest := tokenFor(t, "acme", "ci", "ingest")
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(events), "Authorization", "Bearer "+ingest)
	require.Equal(t, http.StatusOK, code, msg)
	pendingRollback(t, s.Store(), "acme", "prop-mcp", "alice")

	resp, err := http.Post(s.url("/mcp"), "application/json", strings.NewReader(`{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token")

	c := mcpSession(t, s, viewer)
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	require.NoError(t, err)
	names := map[string]mcp.Tool{}
	for _, tool := range list.Tools {
		names[tool.Name] = tool
	}
	for _, want := range []string{"list_services", "service_map", "aggregate", "search_events", "get_trace", "query_metrics", "top_errors",
		"bubble_up", "list_incidents", "get_incident", "start_investigation", "get_investigation", "similar_incidents", "list_changes", "list_proposals"} {
		if want == "start_investigation" {
			continue // a responder's
		}
		tool, ok := names[want]
		if assert.True(t, ok, "a viewer is offered %s", want) {
			assert.NotEmpty(t, tool.Description)
			require.NotNil(t, tool.Annotations.ReadOnlyHint)
			assert.True(t, *tool.Annotations.ReadOnlyHint, want)
		}
	}
	assert.NotContains(t, names, "approve_proposal", "a viewer is not offered write tools")
	assert.NotContains(t, names, "start_investigation", "starting an investigation needs a responder")

	assert.Contains(t, names["aggregate"].InputSchema.Properties, "group_by")
	assert.Contains(t, names["aggregate"].InputSchema.Properties, "from", "the window's fields are the tool's own")

	var text string
	var isErr bool
	eventually(t, "the events are stored and aggregate sees them", func() bool {
		text, isErr = callTool(t, c, "aggregate", map[string]any{"filters": []map[string]any{{"field": "service", "value": "checkout"}},
			"group_by": []string{"attr.region"}, "aggregations": []map[string]any{{"op": "p99", "field": "duration_ms"}, {"op": "count"}}})
		return !isErr && strings.Contains(text, `"attr.region":"eu"`)
	})
	assert.Contains(t, text, `p99(duration_ms)`)

	text, isErr = callTool(t, c, "bubble_up", map[string]any{"selection": []map[string]any{{"field": "status", "value": "error"}},
		"filters": []map[string]any{{"field": "service", "value": "checkout"}}})
	require.False(t, isErr, text)
	assert.Contains(t, text, `"field":"attr.region"`, "every failure is in eu")

	text, isErr = callTool(t, c, "aggregate", map[string]any{"group_by": "service"})
	assert.True(t, isErr, "a string where a list belongs is a tool error")
	assert.Contains(t, text, "invalid input")
	assert.Contains(t, text, "group_by")
	text, isErr = callTool(t, c, "aggregate", map[string]any{"filters": []map[string]any{{"field": "colour", "value": "red"}}})
	assert.True(t, isErr)
	assert.Contains(t, text, `unknown field "colour"`)
	text, isErr = callTool(t, c, "get_trace", map[string]any{"trace": "t1"})
	assert.True(t, isErr)
	assert.Contains(t, text, "trace_id", "a missing required argument is named")
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "approve_proposal", map[string]any{"id": "prop-mcp"}
	_, err = c.CallTool(context.Background(), req)
	require.Error(t, err, "a viewer cannot call a write tool")
	assert.Contains(t, err.Error(), "approve_proposal")

	text, isErr = callTool(t, c, "list_proposals", map[string]any{"status": "pending"})
	require.False(t, isErr, text)
	assert.Contains(t, text, `"needs":"an approver at level team-lead or above (not the proposer)"`, "who may approve, from the tenant's policy")

	responder := mcpSession(t, s, tokenFor(t, "acme", "carol", "responder", "approver:team-lead"))
	assert.Contains(t, toolNames(t, responder), "approve_proposal")
	text, isErr = callTool(t, responder, "approve_proposal", map[string]any{"id": "prop-mcp", "comment": "from Claude Code"})
	require.False(t, isErr, text)
	assert.Contains(t, text, `"status":"succeeded"`)

	var log struct {
		AuditLog []struct{ Actor, Action, Detail string }
	}
	s.gql.MustPost(`{ auditLog(range: {from: "now-1h", to: "now+1m"}) { actor action detail } }`, &log,
		client.AddHeader("Authorization", "Bearer "+tokenFor(t, "acme", "root", "admin")))
	var approvals []string
	for _, e := range log.AuditLog {
		if e.Action == "proposal.approved" {
			approvals = append(approvals, e.Actor+" "+e.Detail)
		}
	}
	assert.Contains(t, approvals, "carol mcp approved: from Claude Code")

	m, err := http.Get(s.url("/metrics"))
	require.NoError(t, err)
	raw, _ := io.ReadAll(m.Body)
	m.Body.Close()
	body := string(raw)
	assert.Contains(t, body, `inquest_mcp_tool_calls_total{outcome="ok",tool="aggregate"}`)
	assert.Contains(t, body, `inquest_mcp_tool_calls_total{outcome="error",tool="aggregate"} 2`)
}

// cartEvents are 40 checkout spans of the last 40 s, a quarter failed,
// every failure in eu.
func cartEvents(now time.Time) string {
	events := ""
	for i := range 40 {
		status := "ok"
		if i%4 == 0 {
			status = "error"
		}
		events += `{"timestamp": "` + now.Add(-time.Duration(i)*time.Second).Format(time.RFC3339Nano) + `", "service": "checkout", "name": "POST /cart", "duration_ms": ` +
			itoa(10+i) + `, "status": "` + status + `", "region": "` + []string{"eu", "us"}[i%2] + `", "trace_id": "t` + itoa(i) + `", "span_id": "s` + itoa(i) + `"}` + "\n"
	}
	return events
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// whyIsCheckoutSlow asks the demo "why is checkout slow?" through a real
// MCP client, making the calls a model makes (Claude Code configured as
// the README says): list the incidents, read the one with checkout, read
// its investigation, and bubble up checkout's slow requests. The answer is
// in what comes back: payment's bad deploy, through the stripe_v3
// provider.
func whyIsCheckoutSlow(t *testing.T, s *testServer) {
	c := mcpSession(t, s, "")
	text, isErr := callTool(t, c, "list_incidents", map[string]any{"status": "active", "from": "now-30m"})
	require.False(t, isErr, text)
	var incidents struct {
		Incidents []struct {
			ID       string
			Services []string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(text), &incidents))
	var id string
	for _, in := range incidents.Incidents {
		for _, svc := range in.Services {
			if svc == "checkout" {
				id = in.ID
			}
		}
	}
	require.NotEmpty(t, id, "an active incident names checkout: %s", text)

	text, isErr = callTool(t, c, "get_investigation", map[string]any{"incident_id": id})
	require.False(t, isErr, text)
	var inv struct {
		Status     string
		Hypotheses []struct {
			Service, Cause string
			Evidence       []struct{ Text string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(text), &inv))
	require.NotEmpty(t, inv.Hypotheses, text)
	assert.Equal(t, "payment", inv.Hypotheses[0].Service, "checkout is slow because of payment")
	assert.Equal(t, "bad_deploy", inv.Hypotheses[0].Cause)

	text, isErr = callTool(t, c, "bubble_up", map[string]any{"from": "now-3m",
		"filters":   []map[string]any{{"field": "service", "value": "checkout"}},
		"selection": []map[string]any{{"field": "duration_ms", "op": ">", "value": "800"}}})
	require.False(t, isErr, text)
	assert.Contains(t, text, "stripe_v3", "checkout's slow requests share the payment provider")
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mintToken makes a token with the command itself, as a user would.
func mintToken(t *testing.T, secret, tenant, subject, roles string) string {
	t.Helper()
	t.Setenv("INQUEST_AUTH_JWT_SECRET", secret)
	cmd := rootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"token", "--subject", subject, "--tenant", tenant, "--roles", roles, "--ttl", "1h"})
	require.NoError(t, cmd.Execute())
	return strings.TrimSpace(out.String())
}

// inspector finds the MCP Inspector's command, which .ci/run installs
// with npm; without it the test skips on a developer machine and fails
// under CI.
func inspector(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("MCP_INSPECTOR"), filepath.Join("..", "..", ".ci", "node", "node_modules", ".bin", "mcp-inspector")} {
		if p == "" {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			if _, err := os.Stat(abs); err == nil {
				return abs
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the MCP Inspector is not installed; .ci/run installs it (npm install --prefix .ci/node @modelcontextprotocol/inspector)")
	}
	t.Skip("the MCP Inspector is not installed: npm install --prefix .ci/node @modelcontextprotocol/inspector to run this test")
	return ""
}

// TestMCPStdioAndInspector runs `inquest serve` and, against it, `inquest
// mcp` over stdio through mcp-go's client and through the official MCP
// Inspector CLI, which also talks to /mcp over HTTP: each lists the tools
// and calls one. A viewer's token is offered no write tool.
func TestMCPStdioAndInspector(t *testing.T) {
	secret := "a-secret-of-at-least-thirty-two-bytes"
	srv := startChild(t, t.TempDir(), "--auth-jwt-secret", secret)
	token := mintToken(t, secret, "acme", "vera", "viewer")
	base := "http://" + srv.addr

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := mcpclient.NewStdioMCPClient(os.Args[0], []string{"README_TEST_RUN_INQUEST=1"}, "mcp", "--url", base, "--token", token)
	require.NoError(t, err)
	defer c.Close()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "stdio-test", Version: "1"}
	info, err := c.Initialize(ctx, init)
	require.NoError(t, err)
	assert.Contains(t, info.Instructions, "list_incidents", "the server's instructions come through")
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	require.NoError(t, err)
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	assert.Contains(t, names, "bubble_up")
	assert.NotContains(t, names, "approve_proposal", "a viewer's token")
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "list_incidents", map[string]any{"from": "now-1h"}
	res, err := c.CallTool(ctx, req)
	require.NoError(t, err)
	require.False(t, res.IsError)
	assert.Contains(t, res.Content[0].(mcp.TextContent).Text, `"incidents":[]`)
	req.Params.Name, req.Params.Arguments = "aggregate", map[string]any{"from": "yesterday"}
	res, err = c.CallTool(ctx, req)
	require.NoError(t, err)
	assert.True(t, res.IsError, "a bad time is the tool's error, which a model can correct")
	assert.Contains(t, res.Content[0].(mcp.TextContent).Text, "yesterday")

	insp := inspector(t)
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.CommandContext(ctx, insp, append([]string{"--cli"}, args...)...)
		cmd.Env = append(os.Environ(), "README_TEST_RUN_INQUEST=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "mcp-inspector %v: %s", args, stderr.String())
		var v map[string]any
		require.NoError(t, json.Unmarshal(out, &v), string(out))
		return v
	}
	// Options first: what follows the target goes to the server's command.
	stdio := []string{"-e", "README_TEST_RUN_INQUEST=1", "--", os.Args[0], "mcp", "--url", base, "--token", token}
	// --header takes every word after it: the URL goes first.
	http := []string{"--transport", "http", "--server-url", base + "/mcp", "--header", "Authorization: Bearer " + token}
	for name, target := range map[string][]string{"stdio": stdio, "http": http} {
		listed := run(append([]string{"--method", "tools/list"}, target...)...)
		tools, _ := listed["tools"].([]any)
		assert.GreaterOrEqual(t, len(tools), 14, "%s: the Inspector lists the tools", name)
		called := run(append([]string{"--method", "tools/call", "--tool-name", "list_services", "--tool-arg", "from=now-1h"}, target...)...)
		assert.NotEqual(t, true, called["isError"], "%s: %v", name, called)
		assert.Contains(t, called, "structuredContent", name)
	}
}

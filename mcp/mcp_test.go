package mcp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	mcpclient "github.com/mark3labs/mcp-go/client"
	mcplib "github.com/mark3labs/mcp-go/mcp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/assist/tools"
	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/mcp"
)

// TestPanicIsAToolError: a tool that panics (here every tool does: the
// face has no service behind it) answers a tool error saying it failed
// inside, and the server goes on answering.
func TestPanicIsAToolError(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := mcp.Handler(mcp.Config{Tools: tools.New(), Metrics: reg})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(auth.WithTenant(r.Context(), "acme")))
	}))
	defer srv.Close()
	c, err := mcpclient.NewStreamableHttpClient(srv.URL)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Start(context.Background()))
	_, err = c.Initialize(context.Background(), mcplib.InitializeRequest{})
	require.NoError(t, err)
	for range 2 {
		req := mcplib.CallToolRequest{}
		req.Params.Name = "list_services"
		res, err := c.CallTool(context.Background(), req)
		require.NoError(t, err, "a panic is not a protocol error")
		require.True(t, res.IsError)
		assert.Equal(t, "internal error in list_services", res.Content[0].(mcplib.TextContent).Text)
	}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	m := mfs[0].Metric[0]
	assert.Equal(t, 2.0, m.GetCounter().GetValue())
	labels := map[string]string{}
	for _, l := range m.Label {
		labels[l.GetName()] = l.GetValue()
	}
	assert.Equal(t, map[string]string{"tool": "list_services", "outcome": "internal"}, labels)
}

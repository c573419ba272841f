package mcp

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcplib "github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// ProxyConfig says which server the stdio proxy serves.
type ProxyConfig struct {
	// URL is the server's base URL (http://127.0.0.1:8080); /mcp is added.
	URL string
	// Token is a bearer token or an API key (sent as a bearer).
	Token   string
	Version string
}

// Proxy serves, over stdio (in, out), the tools the running server offers
// to the token: it lists them from the server's /mcp once and forwards
// each call, so that a local agent (claude mcp add inquest -- inquest mcp
// --url ... --token ...) gets exactly what the token may do, and the
// tools stay defined in one place.
func Proxy(ctx context.Context, cfg ProxyConfig, in io.Reader, out io.Writer) error {
	endpoint := strings.TrimSuffix(cfg.URL, "/")
	if !strings.HasSuffix(endpoint, "/mcp") {
		endpoint += "/mcp"
	}
	opts := []transport.StreamableHTTPCOption{transport.WithHTTPTimeout(2 * time.Minute)}
	if cfg.Token != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + cfg.Token}))
	}
	remote, err := client.NewStreamableHttpClient(endpoint, opts...)
	if err != nil {
		return fmt.Errorf("mcp: %w", err)
	}
	defer remote.Close()
	if err := remote.Start(ctx); err != nil {
		return fmt.Errorf("mcp: %s: %w", endpoint, err)
	}
	init := mcplib.InitializeRequest{}
	init.Params.ClientInfo = mcplib.Implementation{Name: "inquest-mcp-proxy", Version: cfg.Version}
	info, err := remote.Initialize(ctx, init)
	if err != nil {
		return fmt.Errorf("mcp: %s: %w (is the server running, and is the token right?)", endpoint, err)
	}
	list, err := remote.ListTools(ctx, mcplib.ListToolsRequest{})
	if err != nil {
		return fmt.Errorf("mcp: listing the tools of %s: %w", endpoint, err)
	}
	srv := mcpserver.NewMCPServer("inquest", cfg.Version, mcpserver.WithToolCapabilities(false),
		mcpserver.WithInstructions(info.Instructions), mcpserver.WithRecovery())
	for _, t := range list.Tools {
		name := t.Name
		srv.AddTool(t, func(ctx context.Context, req mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
			fwd := mcplib.CallToolRequest{}
			fwd.Params.Name, fwd.Params.Arguments = name, req.Params.Arguments
			res, err := remote.CallTool(ctx, fwd)
			if err != nil {
				return mcplib.NewToolResultError("inquest at " + cfg.URL + " did not answer: " + err.Error()), nil
			}
			return res, nil
		})
	}
	return mcpserver.NewStdioServer(srv).Listen(ctx, in, out)
}

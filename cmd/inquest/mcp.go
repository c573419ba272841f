package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/inquest/inquest/mcp"
)

// mcpCmd serves a running server's tools over stdio, for agents that
// start their MCP servers as commands (Claude Code, Cursor).
func mcpCmd() *cobra.Command {
	var url, token string
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve a running Inquest's tools over MCP on stdio (for claude mcp add inquest -- inquest mcp --url ... --token ...)",
		Long: "Connects to a running server's /mcp and serves the tools the token may use over stdin/stdout.\n" +
			"The token is a bearer token (inquest token) or an API key; INQUEST_TOKEN when --token is not given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				token = os.Getenv("INQUEST_TOKEN")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			bi, _ := debug.ReadBuildInfo()
			err := mcp.Proxy(ctx, mcp.ProxyConfig{URL: url, Token: token, Version: versionLine(version, bi)}, os.Stdin, os.Stdout)
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("inquest mcp: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8080", "the running server's base URL")
	cmd.Flags().StringVar(&token, "token", "", "a bearer token or API key (or INQUEST_TOKEN)")
	return cmd
}

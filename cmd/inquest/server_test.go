package main

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/server"
)

// startServer runs a real server on loopback ports the kernel picks, for
// tests of commands that talk to one.
func startServer(t *testing.T, mutate ...func(*config.Config)) *server.Server {
	t.Helper()
	cfg := config.Default()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.OTLPHTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.DuckDBThreads = 2
	for _, m := range mutate {
		m(&cfg)
	}
	level := slog.LevelError
	if os.Getenv("INQUEST_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	s, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, s.Shutdown(ctx))
	})
	return s
}

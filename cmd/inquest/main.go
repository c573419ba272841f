// Command inquest runs the Inquest server and its tools. It only wires
// components together; the logic lives in the packages it calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/server"
	"github.com/inquest/inquest/storage/duckdb"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := rootCmd().Execute(); err != nil {
		os.Exit(1)
	}
}

// dashboardPages are what the help says the dashboard has; a test holds
// them to web/static/index.html's navigation.
var dashboardPages = []string{"overview", "incidents", "explore", "traces", "service map", "ask", "upload", "pipeline", "settings"}

// notBuilt is what the help says is missing, as the README's Status does.
var notBuilt = []string{"reading CSV files", "changing notification routes, detector sensitivity and the language model from the dashboard",
	"alternative readings in the ask box"}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "inquest",
		Short: "Inquest: takes in telemetry, watches it for anomalies, investigates incidents and proposes remediations",
		Long: "Inquest takes in telemetry (OTLP gRPC/HTTP, Prometheus remote write, JSON events, Zipkin and Jaeger files),\n" +
			"stores it as wide events, spans, logs and metrics (DuckDB embedded, or ClickHouse, VictoriaMetrics, Kafka\n" +
			"and Redis), watches every service and metric for anomalies, groups them into incidents, investigates each\n" +
			"(BubbleUp, dependency tracing, changes and log templates, root cause; an optional language model writes\n" +
			"the narrative) and proposes remediations that people approve through GraphQL or Slack.\n\n" +
			"`inquest serve` serves it all: one GraphQL API (GraphiQL at /graphql), an ask box for plain questions,\n" +
			"an MCP server at /mcp and a dashboard (" + strings.Join(dashboardPages, ", ") + ").\n" +
			"`inquest mcp` bridges that server to Claude Code or Cursor over stdio, `inquest token` signs a bearer\n" +
			"token, `inquest import` loads telemetry files, and `inquest eval-nab` and `inquest eval-rca` measure\n" +
			"detection and root-cause analysis on public benchmarks. `inquest version` says what was built.\n\n" +
			"Not built yet: " + strings.Join(notBuilt, "; ") + " (see the README's Status).\n\n" +
			"Start with `inquest serve --demo`, then open http://127.0.0.1:8080/.",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(serveCmd(), importCmd(), tokenCmd(), mcpCmd(), evalCmd(), evalRCACmd(), versionCmd())
	return root
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: ingest on OTLP, remote write and JSON; GraphQL, dashboard and health on --http-addr",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			logger := newLogger(cfg)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := server.New(ctx, cfg, logger)
			if errors.Is(err, duckdb.ErrLocked) {
				return fmt.Errorf("%w: is another inquest running on %s?", err, cfg.DataDir)
			}
			if err != nil {
				return err
			}
			if err := srv.Start(ctx); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "\nInquest is up. GraphQL and dashboard: http://%s/  (GraphiQL at /graphql)\n"+
				"OTLP gRPC %s, OTLP HTTP %s. Ctrl-C stops and flushes.\n\n", srv.Addrs().HTTP, srv.Addrs().GRPC, srv.Addrs().OTLPHTTP)
			<-ctx.Done()
			logger.Info("shutting down: flushing accepted data")
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			return srv.Shutdown(sctx)
		},
	}
	config.RegisterFlags(cmd.Flags())
	return cmd
}

func tokenCmd() *cobra.Command {
	var subject, tenant string
	var roles []string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a bearer token signed with the server's JWT secret (--auth-jwt-secret, INQUEST_AUTH_JWT_SECRET or --auth-jwt-secret-file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			secret, err := cfg.JWTSecret()
			if err != nil {
				return err
			}
			if len(secret) == 0 {
				return errors.New("no JWT secret: set --auth-jwt-secret, INQUEST_AUTH_JWT_SECRET or --auth-jwt-secret-file as for `inquest serve`")
			}
			a, err := auth.NewAuthenticator(auth.JWTConfig{Secret: secret})
			if err != nil {
				return err
			}
			tok, err := a.Mint(auth.Principal{Subject: subject, Tenant: tenant, Roles: roles}, ttl, cfg.AuthJWTIssuer, cfg.AuthJWTAudience)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&subject, "subject", "", "who the token is for (sub claim)")
	cmd.Flags().StringVar(&tenant, "tenant", auth.DefaultTenant, "tenant the token acts for")
	cmd.Flags().StringSliceVar(&roles, "roles", []string{"viewer"}, "roles (roles claim)")
	cmd.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token is valid")
	_ = cmd.MarkFlagRequired("subject")
	config.RegisterFlags(cmd.Flags())
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the source revision it was built from and the Go version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprintln(cmd.OutOrStdout(), versionLine(version, bi))
		},
	}
}

// versionLine says what a binary is: the version set at link time, else the
// module version Go stamped from the VCS; the revision and its time (and
// whether the tree had uncommitted changes); and the Go version. `go run`
// stamps no revision, which the line says rather than leaving it out.
func versionLine(linked string, bi *debug.BuildInfo) string {
	if bi == nil {
		return "inquest " + linked + " (no build information)"
	}
	v := linked
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", with uncommitted changes"
			}
		}
	}
	src := "revision unknown (built with go run or outside a checkout)"
	if rev != "" {
		src = "revision " + rev[:min(len(rev), 12)]
		if at != "" {
			src += " of " + at
		}
		src += modified
	}
	return fmt.Sprintf("inquest %s, %s, %s", v, src, bi.GoVersion)
}

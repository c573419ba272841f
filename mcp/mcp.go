// Package mcp is the MCP face: the tool registry served over streamable
// HTTP at /mcp (every request authenticated like any other path), and a
// stdio proxy (inquest mcp) that serves a running server's tools to a
// local agent such as Claude Code or Cursor. Tools are defined once, in
// assist/tools; this package only carries them.
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	mcplib "github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/assist/tools"
	"github.com/inquest/inquest/service"
)

// Instructions tell a model how to start.
const Instructions = `Inquest watches this system's telemetry (traces, logs, metrics), opens incidents from anomalies by itself and investigates them.
To answer "what is wrong" or "why is X slow/failing": call list_incidents first; for an incident, get_incident, then get_investigation for the ranked root causes with evidence; bubble_up tells which attribute values (region, customer, version, endpoint) the bad requests share.
To explore: list_services for names, aggregate for percentiles/rates/counts grouped by fields, top_errors for what fails, list_changes for deploys and config changes, get_trace for one request.
Time arguments take now-1h, now-30m or RFC3339. Outputs are summaries with links to the dashboard; when an output says it was truncated, narrow the question.
Remediations are proposed by Inquest and approved by people: approve_proposal and reject_proposal exist only for tokens allowed to decide, and only when the user asked.`

type ctxKey struct{}

// Config configures the face.
type Config struct {
	Tools   *tools.Registry
	Service *service.Service
	// Authenticated: requests without a verified principal are refused
	// (otherwise they act anonymously for their tenant).
	Authenticated bool
	// BaseURL is where the dashboard is, for links.
	BaseURL string
	Version string
	Metrics prometheus.Registerer
	Logger  *slog.Logger
}

// Handler serves MCP over streamable HTTP. It keeps no session between
// requests (any replica can answer any request).
func Handler(cfg Config) http.Handler {
	reg := cfg.Tools
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inquest_mcp_tool_calls_total",
		Help: "MCP tool calls by tool and outcome (ok, error: the tool said no, internal)."}, []string{"tool", "outcome"})
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(calls)
	}
	srv := mcpserver.NewMCPServer("inquest", cfg.Version,
		mcpserver.WithToolCapabilities(false),
		mcpserver.WithInstructions(Instructions),
		mcpserver.WithRecovery(),
		mcpserver.WithToolFilter(func(ctx context.Context, all []mcplib.Tool) []mcplib.Tool {
			p, ok := ctx.Value(ctxKey{}).(service.Principal)
			if !ok {
				return nil
			}
			var out []mcplib.Tool
			for _, t := range all {
				if rt, found := reg.Get(t.Name); found && tools.Allowed(rt, p) {
					out = append(out, t)
				}
			}
			return out
		}))
	for _, t := range reg.All() {
		srv.AddTool(Describe(t), handler(cfg, reg, t.Name, calls))
	}
	return mcpserver.NewStreamableHTTPServer(srv, mcpserver.WithStateLess(true),
		mcpserver.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			p, err := service.PrincipalFrom(r.Context(), cfg.Authenticated)
			if err != nil {
				return ctx
			}
			return context.WithValue(ctx, ctxKey{}, p)
		}))
}

// Describe is a registry tool as MCP lists it: its schemas and its effect
// as MCP's hints (clients auto-approve read-only tools; a destructive one
// changes what exists, an additive one only adds; an idempotent one changes
// nothing more when repeated).
func Describe(t tools.Tool) mcplib.Tool {
	mt := mcplib.NewToolWithRawSchema(t.Name, t.Description, t.InputSchema)
	mt.RawOutputSchema = t.OutputSchema
	readOnly, destructive, openWorld := t.Effect == tools.Reads, t.Effect == tools.Decides, t.OpenWorld
	idempotent := t.Effect != tools.Creates
	mt.Annotations = mcplib.ToolAnnotation{ReadOnlyHint: &readOnly, DestructiveHint: &destructive, IdempotentHint: &idempotent, OpenWorldHint: &openWorld}
	return mt
}

func handler(cfg Config, reg *tools.Registry, name string, calls *prometheus.CounterVec) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcplib.CallToolRequest) (res *mcplib.CallToolResult, err error) {
		defer func() {
			if r := recover(); r != nil {
				cfg.Logger.Error("mcp tool panicked", "tool", name, "panic", r)
				calls.WithLabelValues(name, "internal").Inc()
				res, err = mcplib.NewToolResultError("internal error in "+name), nil
			}
		}()
		p, ok := ctx.Value(ctxKey{}).(service.Principal)
		if !ok {
			calls.WithLabelValues(name, "error").Inc()
			return mcplib.NewToolResultError("authentication required: send a bearer token or an API key"), nil
		}
		args, _ := json.Marshal(req.GetRawArguments())
		out, err := reg.Call(ctx, tools.Env{Svc: cfg.Service, P: p, Channel: "mcp", BaseURL: cfg.BaseURL}, name, args)
		if err != nil {
			var se *service.Error
			if errors.As(err, &se) {
				calls.WithLabelValues(name, "error").Inc()
				return mcplib.NewToolResultError(fmt.Sprintf("%s: %s", se.Kind, se.Msg)), nil
			}
			cfg.Logger.Error("mcp tool failed", "tool", name, "err", err)
			calls.WithLabelValues(name, "internal").Inc()
			return mcplib.NewToolResultError("internal error in " + name + "; try again, or narrow the question"), nil
		}
		calls.WithLabelValues(name, "ok").Inc()
		return mcplib.NewToolResultStructured(json.RawMessage(out.JSON), string(out.JSON)), nil
	}
}

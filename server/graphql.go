package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/graph"
	"github.com/inquest/inquest/resolvers"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/usage"
)

// errorCodes are the GraphQL error codes of the service's error kinds.
var errorCodes = map[service.Kind]string{
	service.KindInvalid: "BAD_USER_INPUT", service.KindNotFound: "NOT_FOUND", service.KindForbidden: "FORBIDDEN",
	service.KindConflict: "CONFLICT", service.KindUnavailable: "UNAVAILABLE",
}

// newGraphQL builds the GraphQL handler with explicit transports, a query
// cache, APQ, a complexity limit, a timeout for queries and mutations, and
// an error presenter that shows user errors and hides everything else.
func newGraphQL(cfg config.Config, res *resolvers.Resolver, authn *auth.Authenticator, meter *usage.Meter,
	reg prometheus.Registerer, logger *slog.Logger) *handler.Server {
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: res, Complexity: queryCost()}))
	ws := transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		// A client that opens a socket and never says connection_init is
		// let go (graphql-ws has the server close it), auth on or off.
		InitTimeout: wsInitTimeout,
		Upgrader: websocket.Upgrader{
			CheckOrigin:     originChecker(cfg.AllowedOrigins),
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
		},
	}
	if authn != nil {
		// Browsers cannot set headers on a websocket: the token comes in
		// the connection_init payload. The connection lasts as long as the
		// credential (exp, or until the API key is revoked), and the
		// acknowledgement carries nothing back (not the token).
		ws.InitFunc = func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			ctx, err := authn.VerifyInitPayload(ctx, payload)
			if err != nil {
				return ctx, nil, err
			}
			p, _ := auth.PrincipalFrom(ctx)
			ctx, _ = authn.Watch(ctx, p, cfg.AuthRecheckInterval) // ends with the connection's own context
			return transport.AppendCloseReason(ctx, "credential expired or revoked"), nil, nil
		}
	}
	srv.AddTransport(ws)
	srv.AddTransport(transport.SSE{})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	// application/graphql: the query is the body, so that a query can be
	// sent from a shell with a heredoc, newlines and quotes as written.
	srv.AddTransport(transport.GRAPHQL{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if cfg.Introspection {
		srv.Use(introspection{authenticated: authn != nil})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(fragmentLimit{max: maxExpandedFields}) // before the checks that walk every spread
	srv.Use(extension.FixedComplexityLimit(cfg.MaxQueryComplexity))
	srv.Use(depthLimit{max: cfg.MaxQueryDepth})

	ops := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "inquest_graphql_operation_seconds", Help: "GraphQL operations by type, name and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"type", "operation", "outcome"})
	if reg != nil {
		_ = reg.Register(ops)
	}
	srv.AroundOperations(res.BatchReads)
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		if tenant, ok := auth.TenantFrom(ctx); ok && oc.Operation != nil {
			meter.Query(tenant)
		}
		if oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
			return next(ctx)
		}
		start := time.Now()
		tctx, cancel := context.WithTimeout(ctx, cfg.QueryTimeout)
		h := next(tctx)
		return func(context.Context) *graphql.Response {
			defer cancel()
			resp := h(tctx)
			outcome := "ok"
			if resp != nil && len(resp.Errors) > 0 {
				outcome = "error"
			}
			ops.WithLabelValues(string(oc.Operation.Operation), oc.OperationName, outcome).Observe(time.Since(start).Seconds())
			return resp
		}
	})
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if kind := service.KindOf(err); kind != 0 {
			// The service's errors are meant for the caller: one code per kind.
			gqlErr.Message = errors.Unwrap(gqlErr).Error()
			gqlErr.Extensions = map[string]any{"code": errorCodes[kind]}
			return gqlErr
		}
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			gqlErr.Message = fmt.Sprintf("query timed out after %s: narrow the time range or the filters", cfg.QueryTimeout)
			gqlErr.Extensions = map[string]any{"code": "TIMEOUT"}
			return gqlErr
		case errors.Is(err, context.Canceled):
			gqlErr.Message = "request cancelled"
			return gqlErr
		}
		var ge *gqlerror.Error
		if errors.As(err, &ge) && ge.Err == nil {
			return gqlErr // parse and validation errors of gqlgen itself
		}
		logger.Error("graphql resolver failed", "path", gqlErr.Path.String(), "err", err)
		return &gqlerror.Error{Message: "internal error", Path: gqlErr.Path, Extensions: map[string]any{"code": "INTERNAL"}}
	})
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		logger.Error("graphql panic", "panic", p, "stack", string(debug.Stack()))
		return errors.New("internal error")
	})
	return srv
}

// introspection lets a caller read the schema when it holds a role (or
// anyone in development mode): a credential that may only ingest, or none,
// learns nothing of the API.
type introspection struct{ authenticated bool }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = introspection{}

func (introspection) ExtensionName() string                   { return "RoleIntrospection" }
func (introspection) Validate(graphql.ExecutableSchema) error { return nil }
func (i introspection) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if !i.authenticated {
		rc.DisableIntrospection = false
		return nil
	}
	if p, ok := auth.PrincipalFrom(ctx); ok && p.Has(auth.RoleViewer) {
		rc.DisableIntrospection = false
		return nil
	}
	if rc.Operation != nil && asksSchema(rc.Operation.SelectionSet) {
		return &gqlerror.Error{Message: "forbidden: introspection needs the viewer role",
			Extensions: map[string]any{"code": "FORBIDDEN"}}
	}
	return nil
}

// asksSchema reports whether a root selection reads __schema or __type,
// through fragments too.
func asksSchema(set ast.SelectionSet) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				return true
			}
		case *ast.InlineFragment:
			if asksSchema(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && asksSchema(s.Definition.SelectionSet) {
				return true
			}
		}
	}
	return false
}

// wsInitTimeout is how long a websocket may stay open before its
// connection_init.
const wsInitTimeout = 5 * time.Second

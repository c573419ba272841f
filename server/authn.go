package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/config"
)

// access decides who a request is: with a JWT secret configured, from the
// verified bearer token; without, from the X-Inquest-Tenant header (a
// development mode that only loopback listeners may use).
type access struct {
	authn    *auth.Authenticator // nil when authentication is off
	failures *prometheus.CounterVec
	server   *Server
}

func (s *Server) newAccess() (*access, error) {
	a := &access{server: s, failures: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inquest_auth_failures_total", Help: "Requests refused for a missing or invalid credential, by protocol.",
	}, []string{"protocol"})}
	s.registry.MustRegister(a.failures)
	secret, err := s.cfg.JWTSecret()
	if err != nil {
		return nil, err
	}
	var pems [][]byte
	for _, f := range s.cfg.AuthJWTPublicKeys {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("auth-jwt-public-key-file: %w", err)
		}
		pems = append(pems, b)
	}
	if len(secret) > 0 || len(pems) > 0 || s.cfg.AuthJWKSURL != "" {
		a.authn, err = auth.NewAuthenticator(auth.JWTConfig{Secret: secret, PublicKeysPEM: pems,
			JWKSURL: s.cfg.AuthJWKSURL, JWKSRefresh: s.cfg.AuthJWKSRefresh,
			OnJWKSError: func(err error) { s.logger.Error("refreshing the JWKS failed", "url", s.cfg.AuthJWKSURL, "err", err) },
			Issuer:      s.cfg.AuthJWTIssuer, Audience: s.cfg.AuthJWTAudience, Leeway: s.cfg.AuthJWTLeeway})
		return a, err
	}
	listening := false
	for _, addr := range []string{s.cfg.HTTPAddr, s.cfg.GRPCAddr, s.cfg.OTLPHTTPAddr} {
		if addr == "" {
			continue
		}
		listening = true
		if !config.LoopbackAddr(addr) && !s.cfg.InsecureNoAuth {
			return nil, fmt.Errorf("refusing to listen on %s without authentication: set --auth-jwt-secret "+
				"(or INQUEST_AUTH_JWT_SECRET), or pass --insecure-no-auth to accept anyone who can reach the port", addr)
		}
	}
	if !listening {
		return a, nil // `inquest import`: nobody to authenticate
	}
	s.logger.Warn("authentication is off: requests act for the tenant in X-Inquest-Tenant, \"default\" without it; " +
		"set --auth-jwt-secret before exposing Inquest")
	return a, nil
}

// close stops background work of the authenticator (JWKS refresh).
func (a *access) close() {
	if a != nil && a.authn != nil {
		a.authn.Close()
	}
}

// http wraps a handler with the request's identity.
func (a *access) http(next http.Handler) http.Handler {
	if a.authn == nil {
		return auth.HeaderTenant(next)
	}
	return a.authn.HTTP(a.failed, next)
}

// graphql is http for GraphQL, whose websockets authenticate in
// connection_init; a stream (SSE) lasts only as long as its credential.
func (a *access) graphql(next http.Handler) http.Handler {
	if a.authn == nil {
		return auth.HeaderTenant(next)
	}
	streams := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			next.ServeHTTP(w, r)
			return
		}
		if p, ok := auth.PrincipalFrom(r.Context()); ok {
			ctx, cancel := a.authn.Watch(r.Context(), p, a.server.cfg.AuthRecheckInterval)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
	return a.authn.HTTPInBand(a.failed, streams)
}

func (a *access) failed(r *http.Request, err error) {
	a.failures.WithLabelValues("http").Inc()
	a.server.logger.Warn("authentication failed", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err.Error())
}

// ingest wraps an ingest handler: authenticated, and allowed to send data
// (the ingest role, or any ranked role unless --ingest-role-required).
func (a *access) ingest(next http.Handler) http.Handler {
	allowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.PrincipalFrom(r.Context()); ok && !p.CanIngest(a.server.cfg.IngestRoleRequired) {
			http.Error(w, fmt.Sprintf("forbidden: sending data needs the ingest role%s", a.orRanked()), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
	return a.http(allowed)
}

func (a *access) orRanked() string {
	if a.server.cfg.IngestRoleRequired {
		return ""
	}
	return " (or viewer and above)"
}

// grpc is the interceptor giving OTLP/gRPC calls their identity.
func (a *access) grpc() grpc.UnaryServerInterceptor {
	if a.authn == nil {
		return auth.UnaryHeaderTenant
	}
	authn := a.authn.UnaryInterceptor(func(err error) {
		a.failures.WithLabelValues("grpc").Inc()
		a.server.logger.Warn("authentication failed", "protocol", "otlp-grpc", "reason", err.Error())
	})
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return authn(ctx, req, info, func(ctx context.Context, req any) (any, error) {
			if p, ok := auth.PrincipalFrom(ctx); ok && !p.CanIngest(a.server.cfg.IngestRoleRequired) {
				return nil, status.Error(codes.PermissionDenied, "sending data needs the ingest role"+a.orRanked())
			}
			return handler(ctx, req)
		})
	}
}

// Package auth decides who a request is and which tenant it acts for. Until
// authentication is configured, every request is tenant "default" unless the
// X-Inquest-Tenant header names another; the tenancy issue replaces the
// header with the verified credential. Everything downstream reads the
// tenant only from the context this package fills.
package auth

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// DefaultTenant is where data goes when nobody says otherwise.
const DefaultTenant = "default"

// TenantHeader selects a tenant while authentication is off.
const TenantHeader = "X-Inquest-Tenant"

type tenantKey struct{}

// WithTenant returns a context acting for tenant.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// TenantFrom returns the tenant the request acts for.
func TenantFrom(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tenantKey{}).(string)
	return t, ok && t != ""
}

var tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidateTenant checks a tenant name: letters, digits, '_', '.', '-', at
// most 64 characters.
func ValidateTenant(t string) error {
	if !tenantName.MatchString(t) {
		return fmt.Errorf("invalid tenant %q: use letters, digits, '_', '.' or '-', at most 64 characters", t)
	}
	return nil
}

// HeaderTenant is the unauthenticated middleware: the tenant comes from
// X-Inquest-Tenant or is "default".
func HeaderTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := r.Header.Get(TenantHeader)
		if t == "" {
			t = DefaultTenant
		}
		if err := ValidateTenant(t); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithTenant(r.Context(), t)))
	})
}

func grpcTenant(ctx context.Context) (context.Context, error) {
	t := DefaultTenant
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-inquest-tenant"); len(v) > 0 && v[0] != "" {
			t = v[0]
		}
	}
	if err := ValidateTenant(t); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return WithTenant(ctx, t), nil
}

// UnaryHeaderTenant is HeaderTenant for gRPC (metadata x-inquest-tenant).
func UnaryHeaderTenant(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := grpcTenant(ctx)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

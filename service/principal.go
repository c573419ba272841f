package service

import (
	"context"

	"github.com/inquest/inquest/auth"
)

// Anonymous is the actor named for requests in development mode, where
// nobody is authenticated.
const Anonymous = "anonymous (authentication off)"

// Principal is who a request acts for: verified by the face that took it
// (a token, an API key, a Slack signature), never read from the request
// body. Without authentication (development mode, loopback only) the
// principal is anonymous, holds every role and acts for the tenant the
// request named.
type Principal struct {
	auth.Principal
	// Anonymous marks development mode: every role is allowed.
	Anonymous bool
}

// PrincipalFrom is the principal the authentication middleware put in ctx.
// In development mode (authenticated false) a request without one acts
// anonymously for the tenant in ctx; with authentication on it has none.
func PrincipalFrom(ctx context.Context, authenticated bool) (Principal, error) {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return Principal{Principal: *p}, nil
	}
	if authenticated {
		return Principal{}, Forbidden("authentication required")
	}
	t, ok := auth.TenantFrom(ctx)
	if !ok {
		return Principal{}, Invalid("no tenant for this request")
	}
	return Principal{Principal: auth.Principal{Subject: Anonymous, Tenant: t}, Anonymous: true}, nil
}

// Has reports whether the principal holds role or a higher one.
func (p Principal) Has(role auth.Role) bool { return p.Anonymous || p.Principal.Has(role) }

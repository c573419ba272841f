package service_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/service"
)

// TestPrincipalFrom: the principal comes from the verified credential in
// the context; without authentication (development mode) a request acts
// anonymously for the tenant it named; with authentication on and no
// credential it is refused.
func TestPrincipalFrom(t *testing.T) {
	_, err := service.PrincipalFrom(context.Background(), true)
	require.ErrorIs(t, err, service.ErrForbidden)
	_, err = service.PrincipalFrom(context.Background(), false)
	require.ErrorIs(t, err, service.ErrInvalid, "development mode still needs a tenant")

	dev, err := service.PrincipalFrom(auth.WithTenant(context.Background(), "acme"), false)
	require.NoError(t, err)
	assert.True(t, dev.Anonymous)
	assert.Equal(t, "acme", dev.Tenant)
	assert.True(t, dev.Has(auth.RoleAdmin), "every role, on loopback only")

	verified := auth.Principal{Subject: "ann", Tenant: "acme", Roles: []string{string(auth.RoleViewer)}}
	p, err := service.PrincipalFrom(auth.WithPrincipal(context.Background(), &verified), true)
	require.NoError(t, err)
	assert.False(t, p.Anonymous)
	assert.True(t, p.Has(auth.RoleViewer))
	assert.False(t, p.Has(auth.RoleResponder))
}

package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func sign(t *testing.T, method jwt.SigningMethod, key any, mut func(*Claims)) string {
	t.Helper()
	now := time.Now()
	c := Claims{Tenant: "acme", Roles: []string{"viewer"}, RegisteredClaims: jwt.RegisteredClaims{
		Subject: "ann", Issuer: "https://idp.example", Audience: jwt.ClaimStrings{"inquest"},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}}
	if mut != nil {
		mut(&c)
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	require.NoError(t, err)
	return s
}

func TestVerify(t *testing.T) {
	a, err := NewAuthenticator(JWTConfig{Secret: secret, Issuer: "https://idp.example", Audience: "inquest", Leeway: 30 * time.Second})
	require.NoError(t, err)

	p, err := a.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, secret, nil))
	require.NoError(t, err)
	assert.False(t, p.Expires.IsZero(), "the token's exp is kept, for streams to end with it")
	p.Expires = time.Time{}
	assert.Equal(t, &Principal{Subject: "ann", Tenant: "acme", Roles: []string{"viewer"}}, p)

	// Within the leeway, a just-expired token still passes; with none, not.
	justExpired := sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-10 * time.Second)) })
	_, err = a.Verify(context.Background(), justExpired)
	assert.NoError(t, err)
	strict, err := NewAuthenticator(JWTConfig{Secret: secret, Issuer: "https://idp.example", Audience: "inquest"})
	require.NoError(t, err)
	_, err = strict.Verify(context.Background(), justExpired)
	assert.Error(t, err, "no leeway: expired is expired")
	_, err = NewAuthenticator(JWTConfig{Secret: secret, Leeway: -time.Second})
	assert.Error(t, err)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	valid := sign(t, jwt.SigningMethodHS256, secret, nil)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, Claims{Tenant: "acme", RegisteredClaims: jwt.RegisteredClaims{
		Subject: "ann", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	for _, c := range []struct {
		name, token, want string
	}{
		{"missing", "", "authentication required"},
		{"expired", sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour)) }), "expired"},
		{"not yet valid", sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) }), "not valid yet"},
		{"no exp", sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.ExpiresAt = nil }), "missing exp"},
		{"wrong audience", sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.Audience = jwt.ClaimStrings{"grafana"} }), "wrong audience"},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.Issuer = "https://evil.example" }), "wrong issuer"},
		{"wrong secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-32-bytes-long!"), nil), "bad signature"},
		{"tampered", tampered, "invalid token"},
		{"alg none", unsigned, "accepted: HS256"},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, nil), "accepted: HS256"},
		{"HS512", sign(t, jwt.SigningMethodHS512, secret, nil), "accepted: HS256"},
		{"no tenant", sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.Tenant = "" }), "tenant claim"},
		{"bad tenant", sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.Tenant = "a b" }), "tenant claim"},
		{"no subject", sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.Subject = "" }), "no sub"},
		{"garbage", "not.a.token", "malformed"},
	} {
		_, err := a.Verify(context.Background(), c.token)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		if c.token != "" {
			assert.NotContains(t, err.Error(), c.token, "the token is never echoed")
		}
	}

	_, err = NewAuthenticator(JWTConfig{Secret: []byte("short")})
	assert.ErrorContains(t, err, "at least 32 bytes")
	_, err = NewAuthenticator(JWTConfig{})
	assert.ErrorContains(t, err, "no key configured")
}

func TestMintVerifies(t *testing.T) {
	a, err := NewAuthenticator(JWTConfig{Secret: secret, Issuer: "inquest", Audience: "inquest"})
	require.NoError(t, err)
	tok, err := a.Mint(Principal{Subject: "ann", Tenant: "acme", Roles: []string{"admin"}}, time.Hour, "inquest", "inquest")
	require.NoError(t, err)
	p, err := a.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, []string{"admin"}, p.Roles)
	_, err = a.Mint(Principal{Subject: "ann", Tenant: "bad tenant"}, time.Hour, "", "")
	assert.Error(t, err)
}

func TestInitPayload(t *testing.T) {
	a, err := NewAuthenticator(JWTConfig{Secret: secret})
	require.NoError(t, err)
	tok := sign(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.Audience, c.Issuer = nil, "" })
	for _, payload := range []map[string]any{{"Authorization": "Bearer " + tok}, {"authorization": "bearer " + tok}, {"authToken": tok}} {
		ctx, err := a.VerifyInitPayload(context.Background(), payload)
		require.NoError(t, err)
		tenant, ok := TenantFrom(ctx)
		assert.True(t, ok)
		assert.Equal(t, "acme", tenant)
	}
	_, err = a.VerifyInitPayload(context.Background(), map[string]any{})
	assert.ErrorIs(t, err, ErrNoCredential)
}

func TestRoles(t *testing.T) {
	p := &Principal{Roles: []string{"responder"}}
	assert.True(t, p.Has(RoleViewer))
	assert.True(t, p.Has(RoleResponder))
	assert.False(t, p.Has(RoleApprover))
	assert.False(t, p.Has(RoleAdmin))
	assert.False(t, (&Principal{Roles: []string{"ingest", "root"}}).Has(RoleViewer), "unknown roles grant nothing")
	assert.True(t, (&Principal{Roles: []string{"admin"}}).Has(RoleApprover))
	assert.False(t, p.Has("superuser"))

	sre := &Principal{Roles: []string{"approver:sre", "approver:vp", "approver:janitor"}}
	assert.True(t, sre.Has(RoleApprover))
	assert.True(t, sre.Has(RoleResponder))
	assert.False(t, sre.Has(RoleAdmin))
	assert.Equal(t, []string{"sre", "vp"}, sre.Levels(), "unknown levels are ignored")
	assert.False(t, (&Principal{Roles: []string{"approver:janitor"}}).Has(RoleViewer))
}

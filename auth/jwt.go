package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Principal is who a request acts as, from a verified credential.
type Principal struct {
	Subject string
	Tenant  string
	Roles   []string
}

type principalKey struct{}

// WithPrincipal returns a context acting as p (and for p's tenant).
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return WithTenant(context.WithValue(ctx, principalKey{}, p), p.Tenant)
}

// PrincipalFrom returns the verified principal of the request, if any.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// JWTConfig configures bearer-token verification.
type JWTConfig struct {
	// Secret is the HS256 key; at least 32 bytes, as RFC 7518 asks.
	Secret []byte
	// Issuer and Audience, when set, must match the token's iss and aud.
	Issuer   string
	Audience string
	// Leeway absorbs clock skew on exp and nbf.
	Leeway time.Duration
}

// Claims are the token claims Inquest reads: the standard ones plus the
// tenant and roles.
type Claims struct {
	Tenant string   `json:"tenant"`
	Roles  []string `json:"roles"`
	jwt.RegisteredClaims
}

// Authenticator verifies bearer tokens. The algorithm is pinned to HS256,
// so a token that says "none" or an RSA algorithm is refused before any key
// is used.
type Authenticator struct {
	parser *jwt.Parser
	secret []byte
}

// NewAuthenticator checks the configuration and builds a verifier.
func NewAuthenticator(cfg JWTConfig) (*Authenticator, error) {
	if len(cfg.Secret) < 32 {
		return nil, fmt.Errorf("auth: the JWT secret must be at least 32 bytes (it is %d)", len(cfg.Secret))
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256"}), jwt.WithLeeway(cfg.Leeway), jwt.WithExpirationRequired()}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Authenticator{parser: jwt.NewParser(opts...), secret: cfg.Secret}, nil
}

// Mint signs a token for p, valid for ttl; the server uses it for its own
// demo traffic and `inquest token` for users.
func (a *Authenticator) Mint(p Principal, ttl time.Duration, issuer, audience string) (string, error) {
	if p.Subject == "" {
		return "", errors.New("mint: subject is required")
	}
	if err := ValidateTenant(p.Tenant); err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	now := time.Now()
	c := Claims{Tenant: p.Tenant, Roles: p.Roles, RegisteredClaims: jwt.RegisteredClaims{
		Subject: p.Subject, Issuer: issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	if audience != "" {
		c.Audience = jwt.ClaimStrings{audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(a.secret)
}

// ErrNoCredential means the request carried no token at all.
var ErrNoCredential = errors.New("authentication required: send Authorization: Bearer <token>")

// Verify checks a token and returns its principal. Errors say what was
// wrong (expired, wrong audience, bad signature) without echoing the token.
func (a *Authenticator) Verify(token string) (*Principal, error) {
	if token == "" {
		return nil, ErrNoCredential
	}
	var c Claims
	if _, err := a.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return a.secret, nil }); err != nil {
		return nil, fmt.Errorf("invalid token: %s", reason(err))
	}
	if c.Subject == "" {
		return nil, errors.New("invalid token: no sub claim")
	}
	if err := ValidateTenant(c.Tenant); err != nil {
		return nil, fmt.Errorf("invalid token: tenant claim: %w", err)
	}
	return &Principal{Subject: c.Subject, Tenant: c.Tenant, Roles: c.Roles}, nil
}

func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "missing exp"
	case strings.Contains(err.Error(), "signing method"):
		// jwt files a disallowed algorithm under ErrTokenSignatureInvalid
		// too; its message names the method.
		return "unexpected signing algorithm (HS256 only)"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	}
	return "rejected"
}

// bearer extracts the token of an "Authorization: Bearer …" value.
func bearer(h string) string {
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// HTTP authenticates every request: the tenant comes from the token only
// (X-Inquest-Tenant is ignored). Websocket upgrades pass through without a
// header, since browsers cannot set one; GraphQL then authenticates the
// connection_init payload with VerifyInitPayload.
func (a *Authenticator) HTTP(onFailure func(r *http.Request, err error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		p, err := a.Verify(bearer(h))
		if err != nil {
			if onFailure != nil {
				onFailure(r, err)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="inquest"`)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// VerifyInitPayload authenticates a GraphQL websocket from its
// connection_init payload: {"Authorization": "Bearer …"} (or
// "authorization", or "authToken" holding the bare token).
func (a *Authenticator) VerifyInitPayload(ctx context.Context, payload map[string]any) (context.Context, error) {
	if p, ok := PrincipalFrom(ctx); ok {
		return WithPrincipal(ctx, p), nil // authenticated by header already
	}
	var token string
	for _, k := range []string{"Authorization", "authorization"} {
		if v, ok := payload[k].(string); ok {
			token = bearer(v)
		}
	}
	if v, ok := payload["authToken"].(string); ok && token == "" {
		token = v
	}
	p, err := a.Verify(token)
	if err != nil {
		return ctx, err
	}
	return WithPrincipal(ctx, p), nil
}

// UnaryInterceptor authenticates OTLP/gRPC calls from the "authorization"
// metadata.
func (a *Authenticator) UnaryInterceptor(onFailure func(error)) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var token string
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("authorization"); len(v) > 0 {
				token = bearer(v[0])
			}
		}
		p, err := a.Verify(token)
		if err != nil {
			if onFailure != nil {
				onFailure(err)
			}
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		return handler(WithPrincipal(ctx, p), req)
	}
}

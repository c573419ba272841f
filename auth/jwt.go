package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
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
	// Expires is when the credential stops being valid (a token's exp);
	// zero for API keys, which last until revoked.
	Expires time.Time
	// KeyID names the API key the principal came from, "" for a token:
	// a long-lived stream checks that the key was not revoked since.
	KeyID string
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

// JWTConfig configures bearer-token verification. At least one of Secret,
// PublicKeysPEM and JWKSURL must be set; each enables its algorithms.
type JWTConfig struct {
	// Secret is the HS256 key; at least 32 bytes, as RFC 7518 asks.
	Secret []byte
	// PublicKeysPEM are RSA or EC public keys for RS256 and ES256 tokens.
	PublicKeysPEM [][]byte
	// JWKSURL is an identity provider's key set for RS256 and ES256
	// tokens, cached, refreshed every JWKSRefresh (default 1 h) and when a
	// token names an unknown kid (at most once a minute).
	JWKSURL     string
	JWKSRefresh time.Duration
	// OnJWKSError is told when a refresh of the key set fails.
	OnJWKSError func(error)
	// Issuer and Audience, when set, must match the token's iss and aud.
	Issuer   string
	Audience string
	// Leeway absorbs clock skew on exp and nbf: a token expired that long
	// ago still passes (--auth-jwt-leeway; 0 allows none).
	Leeway time.Duration
}

// Claims are the token claims Inquest reads: the standard ones plus the
// tenant and roles.
type Claims struct {
	Tenant string   `json:"tenant"`
	Roles  []string `json:"roles"`
	jwt.RegisteredClaims
}

// Authenticator verifies bearer tokens. The accepted algorithms are pinned
// to those of the configured keys (HS256 for a secret, RS256 and ES256 for
// public keys), so "none" or an algorithm without a key is refused before
// any key is used, and each algorithm family only ever sees its own keys.
type Authenticator struct {
	parser     *jwt.Parser
	methods    []string
	secret     []byte
	publicKeys []any // *rsa.PublicKey or *ecdsa.PublicKey
	jwks       keyfunc.Keyfunc
	stopJWKS   context.CancelFunc
	keys       *apiKeys
}

// NewAuthenticator checks the configuration and builds a verifier. With a
// JWKS URL it fetches the key set now (a failure is reported to
// OnJWKSError and retried) and keeps it fresh until Close.
func NewAuthenticator(cfg JWTConfig) (*Authenticator, error) {
	a := &Authenticator{}
	if len(cfg.Secret) > 0 {
		if len(cfg.Secret) < 32 {
			return nil, fmt.Errorf("auth: the JWT secret must be at least 32 bytes (it is %d)", len(cfg.Secret))
		}
		a.secret = cfg.Secret
		a.methods = append(a.methods, "HS256")
	}
	for i, pemBytes := range cfg.PublicKeysPEM {
		if k, err := jwt.ParseRSAPublicKeyFromPEM(pemBytes); err == nil {
			a.publicKeys = append(a.publicKeys, k)
		} else if k, err := jwt.ParseECPublicKeyFromPEM(pemBytes); err == nil {
			a.publicKeys = append(a.publicKeys, k)
		} else {
			return nil, fmt.Errorf("auth: public key %d is neither an RSA nor an EC public key in PEM", i+1)
		}
	}
	if cfg.JWKSURL != "" {
		ctx, cancel := context.WithCancel(context.Background())
		refresh := cfg.JWKSRefresh
		if refresh <= 0 {
			refresh = time.Hour
		}
		noErr := true
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			HTTPTimeout: 10 * time.Second, RefreshInterval: refresh, NoErrorReturnFirstHTTPReq: &noErr,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Minute), 1),
			// Bounds both the wait for the limiter and the refetch itself.
			// Past the limit, Wait fails at once (the next token is further
			// away than the deadline), so an unknown kid never holds a
			// request for the minute the limiter needs.
			RateLimitWaitMax: 5 * time.Second,
			RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
				return func(_ context.Context, err error) {
					if cfg.OnJWKSError != nil {
						cfg.OnJWKSError(err)
					}
				}
			},
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("auth: JWKS %s: %w", cfg.JWKSURL, err)
		}
		a.jwks, a.stopJWKS = kf, cancel
	}
	if len(a.publicKeys) > 0 || a.jwks != nil {
		a.methods = append(a.methods, "RS256", "ES256")
	}
	if len(a.methods) == 0 {
		return nil, errors.New("auth: no key configured: give a secret, a public key or a JWKS URL")
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("auth: the leeway must not be negative")
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(a.methods), jwt.WithLeeway(cfg.Leeway), jwt.WithExpirationRequired()}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	a.parser = jwt.NewParser(opts...)
	return a, nil
}

// Close stops refreshing the key set. Idempotent.
func (a *Authenticator) Close() {
	if a.stopJWKS != nil {
		a.stopJWKS()
	}
}

// key hands the parser the keys of the token's algorithm family only.
func (a *Authenticator) key(t *jwt.Token) (any, error) {
	if _, hmac := t.Method.(*jwt.SigningMethodHMAC); hmac {
		return a.secret, nil // the parser admits HS256 only when a secret is set
	}
	_, wantRSA := t.Method.(*jwt.SigningMethodRSA)
	var keys []jwt.VerificationKey
	for _, k := range a.publicKeys {
		if _, isRSA := k.(*rsa.PublicKey); isRSA == wantRSA {
			keys = append(keys, k)
		}
	}
	if a.jwks != nil {
		k, err := a.jwks.Keyfunc(t)
		if err == nil {
			return k, nil
		}
		if len(keys) == 0 {
			return nil, err
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no %s key configured", t.Method.Alg())
	}
	return jwt.VerificationKeySet{Keys: keys}, nil
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

// Verify checks a bearer credential, a JWT or an API key, and returns its
// principal. Errors say what was wrong (expired, wrong audience, bad
// signature, revoked) without echoing the credential.
func (a *Authenticator) Verify(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, ErrNoCredential
	}
	if strings.HasPrefix(token, APIKeyPrefix) {
		if a.keys == nil {
			return nil, errBadKey
		}
		return a.keys.verify(ctx, token)
	}
	var c Claims
	if _, err := a.parser.ParseWithClaims(token, &c, a.key); err != nil {
		return nil, fmt.Errorf("invalid token: %s", a.reason(err, token))
	}
	if c.Subject == "" {
		return nil, errors.New("invalid token: no sub claim")
	}
	if err := ValidateTenant(c.Tenant); err != nil {
		return nil, fmt.Errorf("invalid token: tenant claim: %w", err)
	}
	p := &Principal{Subject: c.Subject, Tenant: c.Tenant, Roles: c.Roles}
	if c.ExpiresAt != nil {
		p.Expires = c.ExpiresAt.Time
	}
	return p, nil
}

// reason says why a token was refused. The algorithm is read from the
// token's own header: jwt files a disallowed algorithm under
// ErrTokenSignatureInvalid, like a bad signature.
func (a *Authenticator) reason(err error, token string) string {
	alg := ""
	if t, _, perr := jwt.NewParser().ParseUnverified(token, &jwt.RegisteredClaims{}); perr == nil {
		alg, _ = t.Header["alg"].(string)
	}
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
	case alg != "" && !slices.Contains(a.methods, alg):
		return "unexpected signing algorithm (accepted: " + strings.Join(a.methods, ", ") + ")"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "no key for this token (unknown kid?)"
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
// (X-Inquest-Tenant is ignored). A websocket upgrade without a header is
// refused like any request; HTTPInBand lets it through for a protocol that
// authenticates inside the connection.
func (a *Authenticator) HTTP(onFailure func(r *http.Request, err error), next http.Handler) http.Handler {
	return a.http(onFailure, next, false)
}

// HTTPInBand is HTTP for GraphQL: a websocket upgrade without a header
// passes through, since browsers cannot set one, and GraphQL authenticates
// the connection_init payload with VerifyInitPayload before any operation.
func (a *Authenticator) HTTPInBand(onFailure func(r *http.Request, err error), next http.Handler) http.Handler {
	return a.http(onFailure, next, true)
}

func (a *Authenticator) http(onFailure func(r *http.Request, err error), next http.Handler, inBand bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if inBand && h == "" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		p, err := a.Verify(r.Context(), bearer(h))
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
	p, err := a.Verify(ctx, token)
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
		p, err := a.Verify(ctx, token)
		if err != nil {
			if onFailure != nil {
				onFailure(err)
			}
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		return handler(WithPrincipal(ctx, p), req)
	}
}

package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pemOf(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func signKid(t *testing.T, method jwt.SigningMethod, key any, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, Claims{Tenant: "acme", RegisteredClaims: jwt.RegisteredClaims{
		Subject: "ann", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestPublicKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaPEM := pemOf(t, &rsaKey.PublicKey)
	a, err := NewAuthenticator(JWTConfig{PublicKeysPEM: [][]byte{rsaPEM, pemOf(t, &ecKey.PublicKey)}})
	require.NoError(t, err)

	_, err = a.Verify(context.Background(), signKid(t, jwt.SigningMethodRS256, rsaKey, ""))
	assert.NoError(t, err)
	_, err = a.Verify(context.Background(), signKid(t, jwt.SigningMethodES256, ecKey, ""))
	assert.NoError(t, err)
	_, err = a.Verify(context.Background(), signKid(t, jwt.SigningMethodRS256, other, ""))
	assert.ErrorContains(t, err, "invalid token")
	// The classic confusion: an HS256 token whose HMAC key is the public
	// key's PEM. Without a secret, HS256 is not even considered.
	_, err = a.Verify(context.Background(), signKid(t, jwt.SigningMethodHS256, rsaPEM, ""))
	assert.ErrorContains(t, err, "unexpected signing algorithm (accepted: RS256, ES256)")
	// With a secret as well, the HS256 token is checked against the secret
	// only, never the public key.
	both, err := NewAuthenticator(JWTConfig{Secret: secret, PublicKeysPEM: [][]byte{rsaPEM}})
	require.NoError(t, err)
	_, err = both.Verify(context.Background(), signKid(t, jwt.SigningMethodHS256, rsaPEM, ""))
	assert.ErrorContains(t, err, "bad signature")

	_, err = NewAuthenticator(JWTConfig{PublicKeysPEM: [][]byte{[]byte("not a key")}})
	assert.ErrorContains(t, err, "public key 1")
}

// jwksServer serves a key set that the test can rotate.
type jwksServer struct {
	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetches atomic.Int32
}

func (j *jwksServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	j.fetches.Add(1)
	j.mu.Lock()
	defer j.mu.Unlock()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	for kid, k := range j.keys {
		set.Keys = append(set.Keys, map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
	}
	_ = json.NewEncoder(w).Encode(set)
}

func TestJWKSRotation(t *testing.T) {
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	js := &jwksServer{keys: map[string]*rsa.PublicKey{"k1": &k1.PublicKey}}
	srv := httptest.NewServer(js)
	defer srv.Close()

	a, err := NewAuthenticator(JWTConfig{JWKSURL: srv.URL})
	require.NoError(t, err)
	defer a.Close()
	p, err := a.Verify(context.Background(), signKid(t, jwt.SigningMethodRS256, k1, "k1"))
	require.NoError(t, err)
	assert.Equal(t, "acme", p.Tenant)
	fetched := js.fetches.Load()

	// The provider rotates to k2: a token with the new kid makes the
	// authenticator fetch the set again, once.
	js.mu.Lock()
	js.keys = map[string]*rsa.PublicKey{"k2": &k2.PublicKey}
	js.mu.Unlock()
	_, err = a.Verify(context.Background(), signKid(t, jwt.SigningMethodRS256, k2, "k2"))
	require.NoError(t, err)
	assert.Equal(t, fetched+1, js.fetches.Load())
	// An unknown kid is refused, and within the minute does not refetch.
	_, err = a.Verify(context.Background(), signKid(t, jwt.SigningMethodRS256, k1, "k9"))
	assert.ErrorContains(t, err, "invalid token")
	assert.Equal(t, fetched+1, js.fetches.Load())
	// A JWK with alg RS256 does not verify a token that claims ES256.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = a.Verify(context.Background(), signKid(t, jwt.SigningMethodES256, ec, "k2"))
	assert.Error(t, err)
}

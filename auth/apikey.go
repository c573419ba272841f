package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// APIKeyPrefix starts every API key, so that a key is told from a JWT at a
// glance (and by secret scanners).
const APIKeyPrefix = "iqk_"

// NewAPIKey makes a key: the string to hand out once, its public ID and
// the hash to store. The secret has 256 bits of entropy, so a plain
// SHA-256 is a safe way to keep it.
func NewAPIKey() (key, id string, hash []byte) {
	var idb [6]byte
	var secret [32]byte
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(secret[:])
	id = hex.EncodeToString(idb[:])
	s := base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(s))
	return APIKeyPrefix + id + "_" + s, id, sum[:]
}

func parseAPIKey(key string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(key, APIKeyPrefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "_")
}

// apiKeys verifies keys against the store, caching lookups for a few
// seconds so that ingest does not query the store on every request. A
// revocation is seen at once on this process and within the cache TTL on
// others.
type apiKeys struct {
	store   storage.APIKeyStore
	failed  func(tenant, id, reason string)
	cache   *lru.Cache[string, cachedKey]
	mu      sync.Mutex
	touched map[string]time.Time
}

const apiKeyCacheTTL = 10 * time.Second

// cachedKey is a key as read from the store, and when that was. The cache
// ages entries on read rather than with golang-lru's expirable cache,
// whose clean-up goroutine can never be stopped.
type cachedKey struct {
	rec  domain.APIKey
	read time.Time
}

// UseAPIKeys lets the authenticator accept API keys kept in store. failed,
// if set, is told of a refused key whose tenant is known (a wrong secret
// for an existing key, or a revoked key), for the audit log.
func (a *Authenticator) UseAPIKeys(store storage.APIKeyStore, failed func(tenant, id, reason string)) {
	a.keys = &apiKeys{store: store, failed: failed, cache: newKeyCache(),
		touched: map[string]time.Time{}}
}

// ForgetAPIKey drops a key from the cache, after a revocation.
func (a *Authenticator) ForgetAPIKey(id string) {
	if a.keys != nil {
		a.keys.cache.Remove(id)
	}
}

var errBadKey = errors.New("invalid API key")

func (k *apiKeys) verify(ctx context.Context, key string) (*Principal, error) {
	id, secret, ok := parseAPIKey(key)
	if !ok {
		return nil, errBadKey
	}
	c, ok := k.cache.Get(id)
	rec := c.rec
	if !ok || time.Since(c.read) > apiKeyCacheTTL {
		got, err := k.store.APIKey(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errBadKey
		}
		if err != nil {
			return nil, errors.New("API keys cannot be checked right now")
		}
		rec = *got
		k.cache.Add(id, cachedKey{rec: rec, read: time.Now()})
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], rec.SecretHash) != 1 {
		k.fail(rec.Tenant, id, "wrong secret")
		return nil, errBadKey
	}
	if rec.RevokedAtNano != 0 {
		k.fail(rec.Tenant, id, "revoked")
		return nil, errors.New("API key revoked")
	}
	k.touch(ctx, id)
	return &Principal{Subject: "apikey:" + id, Tenant: rec.Tenant, Roles: []string{rec.Role}, KeyID: id}, nil
}

func (k *apiKeys) fail(tenant, id, reason string) {
	if k.failed != nil {
		k.failed(tenant, id, reason)
	}
}

// touch records use at most once a minute per key.
func (k *apiKeys) touch(ctx context.Context, id string) {
	now := time.Now()
	k.mu.Lock()
	due := now.Sub(k.touched[id]) >= time.Minute
	if due {
		k.touched[id] = now
	}
	k.mu.Unlock()
	if due {
		_ = k.store.TouchAPIKey(context.WithoutCancel(ctx), id, now.UnixNano())
	}
}

// revoked reports whether the key was revoked (or deleted), reading the
// store rather than the cache, which may lag by its TTL on other replicas.
func (k *apiKeys) revoked(ctx context.Context, id string) bool {
	rec, err := k.store.APIKey(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return true
	}
	return err == nil && rec.RevokedAtNano != 0 // a store that does not answer revokes nothing
}

func newKeyCache() *lru.Cache[string, cachedKey] {
	c, _ := lru.New[string, cachedKey](10000) // errs only on a size below 1
	return c
}

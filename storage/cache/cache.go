// Package cache keeps answers of read-heavy queries: an in-process LRU by
// default, Redis when several replicas should share it. A cache failure is
// a miss, never a query error.
package cache

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache stores opaque values under keys for a while.
type Cache interface {
	// Get returns the value, or false on a miss or any failure.
	Get(ctx context.Context, key string) ([]byte, bool)
	// Set stores the value for ttl; failures are dropped.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration)
}

// Local is an in-process LRU with a TTL per entry.
type Local struct {
	mu  sync.Mutex
	lru *lru.Cache[string, entry]
	now func() time.Time
}

type entry struct {
	val     []byte
	expires time.Time
}

var _ Cache = (*Local)(nil)

// NewLocal keeps at most size entries.
func NewLocal(size int) *Local {
	if size <= 0 {
		size = 1000
	}
	c, _ := lru.New[string, entry](size) // only fails for size <= 0
	return &Local{lru: c, now: time.Now}
}

// Get returns an unexpired value.
func (l *Local) Get(_ context.Context, key string) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.lru.Get(key)
	if !ok || !l.now().Before(e.expires) {
		return nil, false
	}
	return e.val, true
}

// Set stores a value.
func (l *Local) Set(_ context.Context, key string, val []byte, ttl time.Duration) {
	l.mu.Lock()
	l.lru.Add(key, entry{val: val, expires: l.now().Add(ttl)})
	l.mu.Unlock()
}

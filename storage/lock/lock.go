// Package lock coordinates replicas: leases that one holder at a time owns,
// and compare-and-set on small values, so that two approvals racing for
// the same proposal execute it once. In process by default; Redis when
// several replicas must agree.
package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// Coordinator hands out leases and compare-and-sets values.
type Coordinator interface {
	// Acquire takes the lease on key for ttl if nobody holds it. The
	// returned release gives it back early (only if still ours).
	Acquire(ctx context.Context, key string, ttl time.Duration) (release func(), ok bool, err error)
	// CompareAndSet sets key to next if it currently holds prev ("" means
	// absent), and reports whether it did. Exactly one of several racing
	// callers with the same prev wins.
	CompareAndSet(ctx context.Context, key, prev, next string, ttl time.Duration) (bool, error)
}

// ErrUnavailable means the coordinator could not be asked; callers must
// treat the lease or the set as not obtained.
var ErrUnavailable = errors.New("coordination backend unavailable")

func token() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Local coordinates within one process.
type Local struct {
	mu     sync.Mutex
	values map[string]entry
	now    func() time.Time
}

type entry struct {
	val     string
	expires time.Time
}

var _ Coordinator = (*Local)(nil)

// NewLocal makes an in-process coordinator.
func NewLocal() *Local { return &Local{values: map[string]entry{}, now: time.Now} }

func (l *Local) get(key string) (string, bool) {
	e, ok := l.values[key]
	if !ok || !l.now().Before(e.expires) {
		delete(l.values, key)
		return "", false
	}
	return e.val, true
}

// Acquire takes a lease.
func (l *Local) Acquire(_ context.Context, key string, ttl time.Duration) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, held := l.get("lease:" + key); held {
		return nil, false, nil
	}
	tok := token()
	l.values["lease:"+key] = entry{val: tok, expires: l.now().Add(ttl)}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if v, ok := l.get("lease:" + key); ok && v == tok {
			delete(l.values, "lease:"+key)
		}
	}, true, nil
}

// CompareAndSet swaps a value if it is still prev.
func (l *Local) CompareAndSet(_ context.Context, key, prev, next string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, _ := l.get("cas:" + key)
	if cur != prev {
		return false, nil
	}
	l.values["cas:"+key] = entry{val: next, expires: l.now().Add(ttl)}
	return true, nil
}

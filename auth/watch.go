package auth

import (
	"context"
	"time"

	"github.com/inquest/inquest/internal/loop"
)

// Watch keeps a long-lived request (a subscription) to the life of its
// credential: the context it returns ends when the token expires, or, for
// an API key, at the first check (every interval) that finds the key
// revoked. cancel releases it early.
func (a *Authenticator) Watch(parent context.Context, p *Principal, every time.Duration) (ctx context.Context, cancel context.CancelFunc) {
	ctx, cancel = context.WithCancel(parent)
	if !p.Expires.IsZero() {
		var stop context.CancelFunc
		ctx, stop = context.WithDeadline(ctx, p.Expires)
		prev := cancel
		cancel = func() { stop(); prev() }
	}
	if p.KeyID != "" && a.keys != nil && every > 0 {
		// Owned by the request: it ends when ctx does, at the latest with cancel.
		go loop.Until(ctx, every, func(ctx context.Context, _ time.Time) bool {
			if a.keys.revoked(ctx, p.KeyID) {
				cancel()
				return false
			}
			return true
		})
	}
	return ctx, cancel
}

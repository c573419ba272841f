// Package loop is how Inquest's components repeat work: a job every
// interval that stops with its owner (Every, Until), and a retry with
// exponential backoff and jitter (Retry). Written once so that every
// background goroutine has an owner that waits for it, and no two retries
// of a failing store hammer it in step.
package loop

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Periodic runs a job every interval from Start until Shutdown: the first
// time one interval after Start, so that a process restarting in a loop
// does not run it in a loop.
type Periodic struct {
	interval time.Duration
	job      func(ctx context.Context, now time.Time)

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Every makes a Periodic; a zero interval never runs the job.
func Every(interval time.Duration, job func(ctx context.Context, now time.Time)) *Periodic {
	return &Periodic{interval: interval, job: job}
}

// Start begins the loop, once; the job's context ends at Shutdown, not
// with ctx (a start-up context is short-lived).
func (p *Periodic) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil || p.interval <= 0 {
		return nil
	}
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		Until(ctx, p.interval, func(ctx context.Context, now time.Time) bool {
			p.job(ctx, now)
			return true
		})
	}()
	return nil
}

// Shutdown stops the loop and waits for a run under way, or for ctx.
// Idempotent.
func (p *Periodic) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	p.once.Do(cancel)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Until calls job every interval until ctx ends or job returns false; it
// blocks, for a goroutine whose owner already tracks it.
func Until(ctx context.Context, interval time.Duration, job func(ctx context.Context, now time.Time) bool) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if !job(ctx, now) {
				return
			}
		}
	}
}

// Backoff is how a Retry waits: First before the second try, each pause
// Factor times the last, every pause moved at random by up to a quarter
// so that processes retrying the same store do not stay in step.
type Backoff struct {
	Tries  int // in all, the first included; 0 or less: one
	First  time.Duration
	Factor float64
}

// Retry runs fn until it succeeds, the tries are spent or ctx ends, and
// returns fn's last error: a caller decides what work that could not be
// done becomes (a batch goes to the dead letters), so the store's reason
// is the one it needs, not the context's. failed hears each failure that
// will be tried again (nil: nobody). An error marked Permanent is not
// tried again.
func Retry(ctx context.Context, b Backoff, fn func() error, failed func(attempt int, err error)) error {
	exp := &backoff.ExponentialBackOff{InitialInterval: b.First, RandomizationFactor: 0.25, Multiplier: b.Factor,
		MaxInterval: time.Minute}
	if exp.Multiplier < 1 {
		exp.Multiplier = 1
	}
	var last error
	attempt := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempt++
		last = fn()
		return struct{}{}, last
	}, backoff.WithBackOff(exp), backoff.WithMaxTries(uint(max(b.Tries, 1))), backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, _ time.Duration) {
			if failed != nil {
				failed(attempt, err)
			}
		}))
	if err == nil {
		return nil
	}
	if last != nil {
		var perm *backoff.PermanentError
		if errors.As(last, &perm) {
			return perm.Unwrap()
		}
		return last
	}
	return err
}

// Permanent marks an error Retry must not try again (a cancelled request,
// a record the store will never take).
func Permanent(err error) error { return backoff.Permanent(err) }

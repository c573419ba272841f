package loop

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPeriodicRunsUntilShutdown(t *testing.T) {
	var runs atomic.Int32
	blocked := make(chan struct{})
	p := Every(time.Millisecond, func(ctx context.Context, _ time.Time) {
		if runs.Add(1) == 3 {
			close(blocked)
			<-ctx.Done() // a run under way when Shutdown comes is waited for
		}
	})
	require.NoError(t, p.Start(context.Background()))
	require.NoError(t, p.Start(context.Background()), "a second start is nothing")
	select {
	case <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not run three times")
	}
	require.NoError(t, p.Shutdown(context.Background()))
	require.NoError(t, p.Shutdown(context.Background()), "idempotent")
	n := runs.Load()
	assert.Equal(t, int32(3), n, "no run after Shutdown")

	idle := Every(0, func(context.Context, time.Time) { t.Error("a zero interval never runs") })
	require.NoError(t, idle.Start(context.Background()))
	require.NoError(t, idle.Shutdown(context.Background()))
	require.NoError(t, Every(time.Hour, nil).Shutdown(context.Background()), "never started")
}

func TestShutdownGivesUpWithItsContext(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	p := Every(time.Millisecond, func(context.Context, time.Time) {
		select {
		case <-started:
		default:
			close(started)
		}
		<-release // a job that ignores its context
	})
	require.NoError(t, p.Start(context.Background()))
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, p.Shutdown(ctx), context.Canceled)
	close(release)
	require.NoError(t, p.Shutdown(context.Background()))
}

func TestUntilStopsWhenTheJobSaysSo(t *testing.T) {
	n := 0
	Until(context.Background(), time.Millisecond, func(context.Context, time.Time) bool { n++; return n < 4 })
	assert.Equal(t, 4, n)
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	b := Backoff{Tries: 4, First: time.Millisecond, Factor: 2}
	calls, heard := 0, 0
	err := Retry(ctx, b, func() error {
		calls++
		if calls < 3 {
			return errors.New("store down")
		}
		return nil
	}, func(attempt int, err error) { heard++; assert.Equal(t, heard, attempt) })
	require.NoError(t, err)
	assert.Equal(t, 3, calls)
	assert.Equal(t, 2, heard, "each failure that is tried again is told")

	calls = 0
	err = Retry(ctx, b, func() error { calls++; return errors.New("store down") }, nil)
	assert.EqualError(t, err, "store down", "the last error, not a wrapper")
	assert.Equal(t, 4, calls)

	calls = 0
	err = Retry(ctx, b, func() error { calls++; return Permanent(context.Canceled) }, nil)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, calls, "a permanent error is not tried again")

	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	err = Retry(cctx, Backoff{Tries: 10, First: time.Hour, Factor: 2}, func() error {
		calls++
		cancel()
		return errors.New("store down")
	}, nil)
	assert.EqualError(t, err, "store down", "the store's reason survives a cancelled wait")
	assert.Equal(t, 1, calls)
}

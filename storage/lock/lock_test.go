package lock

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/storage/storetest"
)

// conformance is what every Coordinator must do.
func conformance(t *testing.T, c Coordinator) {
	ctx := context.Background()

	t.Run("one holder at a time", func(t *testing.T) {
		var holders, most atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					release, ok, err := c.Acquire(ctx, "proposal-1", time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						continue
					}
					n := holders.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					holders.Add(-1)
					release()
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), most.Load())
	})

	t.Run("leases expire and only the holder releases", func(t *testing.T) {
		release, ok, err := c.Acquire(ctx, "k", 100*time.Millisecond)
		require.NoError(t, err)
		require.True(t, ok)
		_, ok, err = c.Acquire(ctx, "k", time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "held")
		var second func()
		require.Eventually(t, func() bool {
			r, ok, err := c.Acquire(ctx, "k", time.Minute)
			if ok {
				second = r
			}
			return err == nil && ok
		}, 5*time.Second, 10*time.Millisecond, "expired")
		release() // the old holder's release must not free the new lease
		_, ok, err = c.Acquire(ctx, "k", time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "still held by the second holder")
		second()
		_, ok, err = c.Acquire(ctx, "k", time.Minute)
		require.NoError(t, err)
		assert.True(t, ok, "free once its holder released it")
	})

	t.Run("racing compare-and-set has one winner", func(t *testing.T) {
		ok, err := c.CompareAndSet(ctx, "state", "", "pending", time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, err := c.CompareAndSet(ctx, "state", "pending", "approved", time.Minute); err == nil && ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load(), "two approvals racing execute once")
		ok, err = c.CompareAndSet(ctx, "state", "pending", "rejected", time.Minute)
		require.NoError(t, err)
		assert.False(t, ok)
	})
}

func TestLocal(t *testing.T) { conformance(t, NewLocal()) }

func TestRedis(t *testing.T) {
	addr, stop := storetest.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer client.Close()
	r := NewRedis(client, "inquest:")
	conformance(t, r)

	stop()
	_, _, err := r.Acquire(context.Background(), "x", time.Second)
	assert.ErrorIs(t, err, ErrUnavailable)
	_, err = r.CompareAndSet(context.Background(), "x", "", "y", time.Second)
	assert.ErrorIs(t, err, ErrUnavailable)
}

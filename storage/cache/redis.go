package cache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Cache shared by replicas. Every call has a short deadline, so
// a slow or absent Redis costs a query at most that long, then counts as a
// miss.
type Redis struct {
	client  *redis.Client
	prefix  string
	timeout time.Duration
	logger  *slog.Logger
}

var _ Cache = (*Redis)(nil)

// DialRedis makes the one client a process shares for the cache, the live
// tail and locks. It connects lazily, and does not retry: to a cache a
// miss is cheaper, and the tail and locks report failures themselves.
func DialRedis(url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	opts.MaxRetries = -1 // 0 would mean go-redis's default of 3
	return redis.NewClient(opts), nil
}

// NewRedis caches in Redis through client; keys get prefix.
func NewRedis(client *redis.Client, prefix string, logger *slog.Logger) *Redis {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Redis{client: client, prefix: prefix, timeout: 200 * time.Millisecond, logger: logger}
}

// Get reads a value; errors are logged at debug level and are misses.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	b, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if err != nil {
		if err != redis.Nil {
			r.logger.Debug("redis cache get failed", "err", err)
		}
		return nil, false
	}
	return b, true
}

// Set writes a value with its TTL; errors are dropped.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	if err := r.client.Set(ctx, r.prefix+key, val, ttl).Err(); err != nil {
		r.logger.Debug("redis cache set failed", "err", err)
	}
}

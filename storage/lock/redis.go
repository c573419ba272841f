package lock

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis coordinates replicas through one Redis: leases are SET NX PX with
// a random token, released only by their holder; compare-and-set runs as
// one Lua script, so it is atomic on the server.
type Redis struct {
	client *redis.Client
	prefix string
}

var _ Coordinator = (*Redis)(nil)

// NewRedis coordinates through client; keys get prefix.
func NewRedis(client *redis.Client, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

var release = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`)

var cas = redis.NewScript(`
local cur = redis.call("GET", KEYS[1])
if cur == false then cur = "" end
if cur ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
return 1`)

// Acquire takes a lease.
func (r *Redis) Acquire(ctx context.Context, key string, ttl time.Duration) (func(), bool, error) {
	tok := token()
	k := r.prefix + "lease:" + key
	ok, err := r.client.SetNX(ctx, k, tok, ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = release.Run(ctx, r.client, []string{k}, tok).Err()
	}, true, nil
}

// CompareAndSet swaps a value if it is still prev.
func (r *Redis) CompareAndSet(ctx context.Context, key, prev, next string, ttl time.Duration) (bool, error) {
	n, err := cas.Run(ctx, r.client, []string{r.prefix + "cas:" + key}, prev, next, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return n == 1, nil
}

// Package pubsub relays messages between the replicas of a deployment
// through Redis pub/sub: what one replica publishes, every other replica
// delivers to its own subscribers. The live tail and the anomaly and
// incident streams use it.
package pubsub

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/inquest/inquest/domain"
)

// Relay carries values of type T on one Redis channel. A value published
// here is delivered locally at once, without Redis, and published tagged
// with this replica's origin; other replicas deliver it to theirs. If
// Redis is down, only the cross-replica part stops (counted).
type Relay[T any] struct {
	client  *redis.Client
	channel string
	origin  string
	deliver func(T)
	logger  *slog.Logger
	errors  prometheus.Counter

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

type message[T any] struct {
	Origin string `json:"origin"`
	Value  T      `json:"value"`
}

// New makes a relay on channel; deliver hands a value to this replica's
// subscribers. errors counts values not published or not read (may be nil).
func New[T any](client *redis.Client, channel string, deliver func(T), errors prometheus.Counter, logger *slog.Logger) *Relay[T] {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if errors == nil {
		errors = prometheus.NewCounter(prometheus.CounterOpts{Name: "unregistered"})
	}
	return &Relay[T]{client: client, channel: channel, origin: domain.NewID(), deliver: deliver, logger: logger,
		errors: errors, done: make(chan struct{})}
}

// Start subscribes and delivers other replicas' values until Shutdown.
func (r *Relay[T]) Start(ctx context.Context) error {
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	sub := r.client.Subscribe(ctx, r.channel)
	// Wait for the subscription so that nothing published after Start is
	// missed; if Redis is unreachable, go on and let go-redis reconnect.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := sub.Receive(rctx); err != nil {
		r.logger.Warn("redis relay: subscribe failed; retrying in the background", "channel", r.channel, "err", err)
	}
	cancel()
	go func() {
		defer close(r.done)
		defer sub.Close()
		ch := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				var msg message[T]
				if err := json.Unmarshal([]byte(m.Payload), &msg); err != nil {
					r.errors.Inc()
					continue
				}
				if msg.Origin != r.origin {
					r.deliver(msg.Value)
				}
			}
		}
	}()
	return nil
}

// Publish delivers locally and publishes for the other replicas.
func (r *Relay[T]) Publish(v T) {
	r.deliver(v)
	b, err := json.Marshal(message[T]{Origin: r.origin, Value: v})
	if err != nil {
		r.errors.Inc()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.client.Publish(ctx, r.channel, b).Err(); err != nil {
		r.errors.Inc()
		r.logger.Debug("redis relay: publish failed", "channel", r.channel, "err", err)
	}
}

// Shutdown stops relaying. Idempotent; the client belongs to the caller.
func (r *Relay[T]) Shutdown(context.Context) error {
	r.once.Do(func() {
		if r.cancel != nil {
			r.cancel()
			<-r.done
		}
	})
	return nil
}

// Package redistail fans live-tail events out across replicas through
// Redis pub/sub, so that a subscription on one gateway sees what another
// replica stored.
package redistail

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/storage"
)

// Tail is an ingest.Tail over Redis. Events stored on this replica reach
// its own subscribers at once, without Redis; they are also published,
// tagged with this replica's origin, and every other replica hands them to
// its subscribers. If Redis is down, only the cross-replica part stops.
type Tail struct {
	local   *ingest.LocalTail
	client  *redis.Client
	channel string
	origin  string
	logger  *slog.Logger
	errors  prometheus.Counter

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

var _ ingest.Tail = (*Tail)(nil)

type message struct {
	Origin string          `json:"origin"`
	Events []storage.Event `json:"events"`
}

// New relays through client; Start begins relaying.
func New(client *redis.Client, reg prometheus.Registerer, logger *slog.Logger) *Tail {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	t := &Tail{local: ingest.NewLocalTail(reg), client: client, channel: "inquest:tail",
		origin: storage.NewID(), logger: logger, done: make(chan struct{}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inquest_tail_redis_errors_total", Help: "Live-tail batches not published to or not read from Redis.",
		})}
	if reg != nil {
		_ = reg.Register(t.errors)
	}
	return t
}

// Start subscribes and relays other replicas' events until Shutdown.
func (t *Tail) Start(ctx context.Context) error {
	ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	sub := t.client.Subscribe(ctx, t.channel)
	// Wait for the subscription so that nothing published after Start is
	// missed; if Redis is unreachable, go on and let go-redis reconnect.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := sub.Receive(rctx); err != nil {
		t.logger.Warn("redis tail: subscribe failed; retrying in the background", "err", err)
	}
	cancel()
	go func() {
		defer close(t.done)
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
				var msg message
				if err := json.Unmarshal([]byte(m.Payload), &msg); err != nil {
					t.errors.Inc()
					continue
				}
				if msg.Origin != t.origin {
					t.local.Publish(msg.Events)
				}
			}
		}
	}()
	return nil
}

// Publish delivers locally and publishes for the other replicas.
func (t *Tail) Publish(events []storage.Event) {
	t.local.Publish(events)
	b, err := json.Marshal(message{Origin: t.origin, Events: events})
	if err != nil {
		t.errors.Inc()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := t.client.Publish(ctx, t.channel, b).Err(); err != nil {
		t.errors.Inc()
		t.logger.Debug("redis tail: publish failed", "err", err)
	}
}

// Subscribe streams matching events of the tenant, from any replica.
func (t *Tail) Subscribe(ctx context.Context, tenant string, filters []storage.Filter, buffer int) <-chan storage.Event {
	return t.local.Subscribe(ctx, tenant, filters, buffer)
}

// Shutdown stops relaying. Idempotent; the client belongs to the caller.
func (t *Tail) Shutdown(context.Context) error {
	t.once.Do(func() {
		if t.cancel != nil {
			t.cancel()
			<-t.done
		}
	})
	return nil
}

// Package redistail fans live-tail events out across replicas through
// Redis pub/sub, so that a subscription on one gateway sees what another
// replica stored.
package redistail

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/storage/pubsub"
)

// Tail is an ingest.Tail over Redis. Events stored on this replica reach
// its own subscribers at once, without Redis; every other replica hands
// them to its subscribers. If Redis is down, only the cross-replica part
// stops.
type Tail struct {
	local *ingest.LocalTail
	relay *pubsub.Relay[[]domain.Event]
}

var _ ingest.Tail = (*Tail)(nil)

// New relays through client; Start begins relaying.
func New(client *redis.Client, reg prometheus.Registerer, logger *slog.Logger) *Tail {
	errors := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "inquest_tail_redis_errors_total", Help: "Live-tail batches not published to or not read from Redis.",
	})
	if reg != nil {
		_ = reg.Register(errors)
	}
	local := ingest.NewLocalTail(reg)
	return &Tail{local: local, relay: pubsub.New(client, "inquest:tail", local.Publish, errors, logger)}
}

// Start subscribes and relays other replicas' events until Shutdown.
func (t *Tail) Start(ctx context.Context) error { return t.relay.Start(ctx) }

// Publish delivers locally and publishes for the other replicas.
func (t *Tail) Publish(events []domain.Event) { t.relay.Publish(events) }

// Subscribe streams matching events of the tenant, from any replica.
func (t *Tail) Subscribe(ctx context.Context, tenant string, filters []domain.Filter, buffer int) <-chan domain.Event {
	return t.local.Subscribe(ctx, tenant, filters, buffer)
}

// Shutdown stops relaying. Idempotent; the client belongs to the caller.
func (t *Tail) Shutdown(ctx context.Context) error { return t.relay.Shutdown(ctx) }

package ingest

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/domain"
)

// Tail fans freshly stored events out to live subscriptions. The embedded
// implementation is in-process; the scaled one goes through Redis pub/sub so
// that a subscriber on one replica sees what another stored.
type Tail interface {
	// Publish offers stored events to subscribers; it never blocks.
	Publish(events []domain.Event)
	// Subscribe streams the tenant's events that match filters until ctx
	// ends, then closes the channel. A subscriber that falls behind by more
	// than buffer events misses events rather than slowing ingest; misses
	// are counted.
	Subscribe(ctx context.Context, tenant string, filters []domain.Filter, buffer int) <-chan domain.Event
}

// LocalTail is the in-process Tail.
type LocalTail struct {
	mu      sync.RWMutex
	subs    map[*subscriber]struct{}
	dropped prometheus.Counter
}

type subscriber struct {
	tenant  string
	filters []domain.Filter
	ch      chan domain.Event
}

var _ Tail = (*LocalTail)(nil)

// NewLocalTail makes an in-process tail.
func NewLocalTail(reg prometheus.Registerer) *LocalTail {
	t := &LocalTail{subs: map[*subscriber]struct{}{}, dropped: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "inquest_tail_dropped_events_total", Help: "Events not delivered to a live tail because its subscriber was too slow.",
	})}
	if reg != nil {
		_ = reg.Register(t.dropped)
	}
	return t
}

// Publish delivers to every matching subscriber without blocking.
func (t *LocalTail) Publish(events []domain.Event) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.subs) == 0 {
		return
	}
	for s := range t.subs {
		for i := range events {
			e := &events[i]
			if e.Tenant != s.tenant || !domain.Match(e, s.filters) {
				continue
			}
			select {
			case s.ch <- *e:
			default:
				t.dropped.Inc()
			}
		}
	}
}

// Subscribe registers a subscriber until ctx ends.
func (t *LocalTail) Subscribe(ctx context.Context, tenant string, filters []domain.Filter, buffer int) <-chan domain.Event {
	if buffer <= 0 {
		buffer = 256
	}
	s := &subscriber{tenant: tenant, filters: filters, ch: make(chan domain.Event, buffer)}
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	context.AfterFunc(ctx, func() {
		t.mu.Lock()
		delete(t.subs, s)
		t.mu.Unlock()
		close(s.ch)
	})
	return s.ch
}

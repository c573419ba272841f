// Package updates carries anomaly and incident changes, and the progress
// of investigations, to the subscribers of a tenant: the GraphQL
// subscriptions and, later, every other face.
// The detector and the incident lifecycle publish; any process may
// subscribe, whether it detects or not.
package updates

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/domain"
)

// Update is one change published to subscribers: an anomaly opened or
// ended, or an incident changed. Subscribers get copies.
type Update struct {
	Anomaly  *domain.Anomaly
	Incident *domain.Incident
	// Progress is a line of a running investigation.
	Progress *domain.InvestigationProgress
	// Proposal is a remediation proposal as it changed.
	Proposal *domain.Proposal
}

// Broker fans updates out to the subscribers of their tenant. A subscriber
// that falls behind by more than its buffer misses updates (counted)
// rather than slowing detection.
type Broker struct {
	mu      sync.Mutex
	subs    map[string]map[chan Update]struct{}
	dropped prometheus.Counter
	// out, when set, takes what is published instead of delivering it
	// here: a relay to the other replicas, which delivers here too.
	out func(Update)
}

// NewBroker makes a broker.
func NewBroker(reg prometheus.Registerer) *Broker {
	b := &Broker{subs: map[string]map[chan Update]struct{}{}, dropped: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "inquest_detection_updates_dropped_total", Help: "Anomaly and incident updates a slow subscriber missed."})}
	if reg != nil {
		reg.MustRegister(b.dropped)
	}
	return b
}

// Subscribe streams the tenant's updates until ctx ends, then closes the
// channel.
func (b *Broker) Subscribe(ctx context.Context, tenant string) <-chan Update {
	ch := make(chan Update, 64)
	b.mu.Lock()
	if b.subs[tenant] == nil {
		b.subs[tenant] = map[chan Update]struct{}{}
	}
	b.subs[tenant][ch] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs[tenant], ch)
		close(ch)
		b.mu.Unlock()
	})
	return ch
}

// RelayThrough sends what is published through out (a relay across
// replicas, which calls Deliver on every replica, this one included). Set
// it before the broker is used.
func (b *Broker) RelayThrough(out func(Update)) { b.out = out }

// Publish hands an update to the tenant's subscribers, on every replica
// when a relay is set.
func (b *Broker) Publish(u Update) {
	if b.out != nil {
		b.out(u)
		return
	}
	b.Deliver(u)
}

// Deliver hands an update to this process's subscribers of its tenant, as
// a copy.
func (b *Broker) Deliver(u Update) {
	tenant := ""
	switch {
	case u.Anomaly != nil:
		a := *u.Anomaly
		u.Anomaly, tenant = &a, a.Tenant
	case u.Incident != nil:
		in := u.Incident.Clone()
		u.Incident, tenant = &in, in.Tenant
	case u.Progress != nil:
		p := *u.Progress
		u.Progress, tenant = &p, p.Tenant
	case u.Proposal != nil:
		p := *u.Proposal
		u.Proposal, tenant = &p, p.Tenant
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[tenant] {
		select {
		case ch <- u:
		default:
			b.dropped.Inc()
		}
	}
}

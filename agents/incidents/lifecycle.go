// Package incidents turns anomalies into incidents and owns their
// lifecycle. The Grouper takes the detector's anomalies and groups them
// (close in time, neighbours in the service graph, after a deploy); the
// Lifecycle makes what people do: acknowledge, resolve, reopen, merge.
// Every change is a compare-and-set on the incident's version in the
// store, so that any process (a gateway, a writer, a Slack action, an MCP
// tool) can make one, two racing changes make one transition, and the
// Grouper keeps a person's change when it next writes the incident.
package incidents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/updates"
)

// ErrTransition is a change the incident's status does not allow (an
// acknowledgement of a resolved incident).
var ErrTransition = errors.New("incident cannot make this change")

// Publisher carries incident changes to live subscribers (the updates
// broker).
type Publisher interface {
	Publish(u updates.Update)
}

// Lifecycle makes people's changes to incidents.
type Lifecycle struct {
	store  storage.IncidentStore
	broker Publisher
	notify func(domain.Incident, string)
	logger *slog.Logger
	now    func() time.Time
}

// New makes the lifecycle over the store; changes are published to broker
// (nil: nobody) and, for notifications, told to notify (nil: nobody).
func New(store storage.IncidentStore, broker Publisher, notify func(domain.Incident, string), logger *slog.Logger) *Lifecycle {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Lifecycle{store: store, broker: broker, notify: notify, logger: logger, now: time.Now}
}

// change reads the incident, applies edit and stores it if nobody changed
// it meanwhile, reading again otherwise (storage.CompareAndSet).
func (l *Lifecycle) change(ctx context.Context, tenant, id string, edit func(*domain.Incident, int64) error, reason string) (*domain.Incident, error) {
	var out *domain.Incident
	err := storage.CompareAndSet(ctx, "incident "+id, func(int) error {
		in, err := l.store.Incident(ctx, tenant, id)
		if err != nil {
			return err
		}
		version := in.Version
		now := l.now().UnixNano()
		if err := edit(in, now); err != nil {
			return err
		}
		in.UpdatedNano = now
		if err := l.store.UpdateIncident(ctx, *in, version); err != nil {
			return err
		}
		in.Version = version + 1
		out = in
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.announce(out, reason)
	return out, nil
}

func (l *Lifecycle) announce(in *domain.Incident, reason string) {
	if l.broker != nil {
		l.broker.Publish(updates.Update{Incident: in})
	}
	if l.notify != nil {
		l.notify(in.Clone(), reason)
	}
}

// Acknowledge marks an open incident as being handled by actor.
func (l *Lifecycle) Acknowledge(ctx context.Context, tenant, id, actor string) (*domain.Incident, error) {
	return l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error { return acknowledge(in, now, actor) }, "acknowledged")
}

// Resolve closes an incident: by hand, or for a remediation verified to
// have worked (actor names it). The detector resolves the quiet ones by the
// same rule (Grouper.Housekeep).
func (l *Lifecycle) Resolve(ctx context.Context, tenant, id, actor string) (*domain.Incident, error) {
	return l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error { return resolve(in, now, actor, "") }, "resolved")
}

// Reopen opens a resolved incident again.
func (l *Lifecycle) Reopen(ctx context.Context, tenant, id, actor string) (*domain.Incident, error) {
	return l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error { return reopen(in, now, actor) }, "reopened")
}

// AcceptNewNormal records that actor takes the level the incident's series
// are at as their new normal; the detector, reading the incident back,
// re-learns those series' baselines and ends their anomalies.
func (l *Lifecycle) AcceptNewNormal(ctx context.Context, tenant, id, actor string) (*domain.Incident, error) {
	return l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error { return acceptNewNormal(in, now, actor) }, "changed")
}

// AcceptedSince tells whether a person accepted the incident's level as
// the new normal at or after t.
func AcceptedSince(in *domain.Incident, t int64) bool {
	for _, ev := range in.Timeline {
		if ev.Kind == "accepted" && ev.TimeUnixNano >= t {
			return true
		}
	}
	return false
}

// Merge moves the anomalies, services and timeline of the others into the
// first incident; each other is resolved as merged. Each incident is
// changed by its own compare-and-set: the others first, so that a failure
// part-way leaves anomalies in a resolved incident rather than in two.
func (l *Lifecycle) Merge(ctx context.Context, tenant, into string, others []string, actor string) (*domain.Incident, error) {
	if _, err := l.store.Incident(ctx, tenant, into); err != nil {
		return nil, err
	}
	var moved []*domain.Incident
	for _, id := range others {
		if id == into {
			return nil, fmt.Errorf("%w: an incident cannot be merged into itself", ErrTransition)
		}
		src, err := l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error { return markMerged(in, into, now, actor) }, "merged")
		if err != nil {
			return nil, fmt.Errorf("incident %s: %w", id, err)
		}
		moved = append(moved, src)
	}
	dst, err := l.change(ctx, tenant, into, func(dst *domain.Incident, now int64) error {
		for _, src := range moved {
			merge(dst, src)
		}
		dst.Timeline = append(dst.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "merged", Actor: actor,
			Text: fmt.Sprintf("%s merged %s into this incident", actor, strings.Join(others, ", "))})
		if dst.Status == domain.IncidentResolved {
			dst.Status, dst.ResolvedNano = domain.IncidentOpen, 0
		}
		return nil
	}, "changed")
	if err != nil {
		return nil, err
	}
	l.moveAnomalies(ctx, tenant, dst, moved)
	return dst, nil
}

// moveAnomalies points the moved incidents' anomalies at dst. A failure is
// logged: the incidents already say where the anomalies belong.
func (l *Lifecycle) moveAnomalies(ctx context.Context, tenant string, dst *domain.Incident, moved []*domain.Incident) {
	want := map[string]bool{}
	start := dst.OpenedNano
	for _, src := range moved {
		for _, id := range src.AnomalyIDs {
			want[id] = true
		}
		start = min(start, src.OpenedNano)
	}
	if len(want) == 0 {
		return
	}
	as, err := l.store.Anomalies(ctx, tenant, domain.TimeRange{Start: start - 1, End: l.now().UnixNano() + 1}, "", domain.MaxPageSize)
	if err == nil {
		var changed []domain.Anomaly
		for _, a := range as {
			if want[a.ID] {
				a.IncidentID = dst.ID
				changed = append(changed, a)
			}
		}
		err = l.store.PutAnomalies(ctx, changed)
	}
	if err != nil {
		l.logger.Error("merge: moving anomalies failed", "incident", dst.ID, "err", err)
	}
}

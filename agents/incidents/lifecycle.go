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
	"sort"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/updates"
)

// ErrTransition is a change the incident's status does not allow (an
// acknowledgement of a resolved incident).
var ErrTransition = errors.New("incident cannot make this change")

// Lifecycle makes people's changes to incidents.
type Lifecycle struct {
	store  storage.IncidentStore
	broker *updates.Broker
	notify func(domain.Incident, string)
	logger *slog.Logger
	now    func() time.Time
}

// New makes the lifecycle over the store; changes are published to broker
// (nil: nobody) and, for notifications, told to notify (nil: nobody).
func New(store storage.IncidentStore, broker *updates.Broker, notify func(domain.Incident, string), logger *slog.Logger) *Lifecycle {
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
	return l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error {
		if in.Status != domain.IncidentOpen {
			return fmt.Errorf("%w: it is %s, not open", ErrTransition, in.Status)
		}
		in.Status, in.AcknowledgedBy = domain.IncidentAcknowledged, actor
		in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "acknowledged", Actor: actor, Text: "acknowledged by " + actor})
		return nil
	}, "acknowledged")
}

// Resolve closes an incident by hand.
func (l *Lifecycle) Resolve(ctx context.Context, tenant, id, actor string) (*domain.Incident, error) {
	return l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error {
		if in.Status == domain.IncidentResolved {
			return fmt.Errorf("%w: it is resolved already", ErrTransition)
		}
		in.Status, in.ResolvedNano = domain.IncidentResolved, now
		in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "resolved", Actor: actor, Text: "resolved by " + actor})
		return nil
	}, "resolved")
}

// Reopen opens a resolved incident again.
func (l *Lifecycle) Reopen(ctx context.Context, tenant, id, actor string) (*domain.Incident, error) {
	return l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error {
		if in.Status != domain.IncidentResolved {
			return fmt.Errorf("%w: it is %s, not resolved", ErrTransition, in.Status)
		}
		in.Status, in.ResolvedNano, in.AcknowledgedBy = domain.IncidentOpen, 0, ""
		in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "reopened", Actor: actor, Text: "reopened by " + actor})
		return nil
	}, "reopened")
}

// AcceptNewNormal records that actor takes the level the incident's series
// are at as their new normal; the detector, reading the incident back,
// re-learns those series' baselines and ends their anomalies.
func (l *Lifecycle) AcceptNewNormal(ctx context.Context, tenant, id, actor string) (*domain.Incident, error) {
	return l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error {
		if in.Status == domain.IncidentResolved {
			return fmt.Errorf("%w: it is resolved", ErrTransition)
		}
		in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "accepted", Actor: actor,
			Text: "the level of its series accepted as the new normal by " + actor})
		return nil
	}, "changed")
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
		src, err := l.change(ctx, tenant, id, func(in *domain.Incident, now int64) error {
			if in.Status == domain.IncidentResolved && hasMerge(in) {
				return fmt.Errorf("%w: %s was merged already", ErrTransition, id)
			}
			in.Status, in.ResolvedNano = domain.IncidentResolved, now
			in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "merged", Actor: actor,
				Text: fmt.Sprintf("merged into %s by %s", into, actor)})
			return nil
		}, "merged")
		if err != nil {
			return nil, fmt.Errorf("incident %s: %w", id, err)
		}
		moved = append(moved, src)
	}
	dst, err := l.change(ctx, tenant, into, func(dst *domain.Incident, now int64) error {
		for _, src := range moved {
			absorb(dst, src)
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

// absorb takes src's anomalies, services, timeline and severity into dst.
func absorb(dst, src *domain.Incident) {
	dst.AnomalyIDs = union(dst.AnomalyIDs, src.AnomalyIDs)
	dst.Services = union(dst.Services, src.Services)
	for _, e := range src.Timeline {
		if e.Kind != "merged" {
			dst.Timeline = append(dst.Timeline, e)
		}
	}
	sort.SliceStable(dst.Timeline, func(i, j int) bool { return dst.Timeline[i].TimeUnixNano < dst.Timeline[j].TimeUnixNano })
	if domain.SeverityRank(src.Severity) > domain.SeverityRank(dst.Severity) {
		dst.Severity = src.Severity
	}
	dst.OpenedNano = min(dst.OpenedNano, src.OpenedNano)
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

func hasMerge(in *domain.Incident) bool {
	for _, e := range in.Timeline {
		if e.Kind == "merged" && strings.HasPrefix(e.Text, "merged into") {
			return true
		}
	}
	return false
}

// union adds the strings of more that xs lacks, keeping xs' order.
func union(xs, more []string) []string {
	for _, x := range more {
		if !contains(xs, x) {
			xs = append(xs, x)
		}
	}
	return xs
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

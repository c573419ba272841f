package service

import (
	"context"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/updates"
)

// openStream counts a subscription of the tenant against MaxStreams until
// ctx ends: every open one holds buffers and a place in each fan-out.
func (s *Service) openStream(ctx context.Context, p Principal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.MaxStreams > 0 && s.streams[p.Tenant] >= s.cfg.MaxStreams {
		return Unavailable("the tenant has %d subscriptions open, the limit (--max-subscriptions-per-tenant): close one first", s.cfg.MaxStreams)
	}
	s.streams[p.Tenant]++
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.streams[p.Tenant]--; s.streams[p.Tenant] <= 0 {
			delete(s.streams, p.Tenant)
		}
	})
	return nil
}

// Tail streams the tenant's events as they are stored, filtered, until ctx
// ends. The channel closes then.
func (s *Service) Tail(ctx context.Context, p Principal, filters []Filter) (<-chan domain.Event, error) {
	if err := s.allow(ctx, p, "tail"); err != nil {
		return nil, err
	}
	fs, err := Filters(filters)
	if err != nil {
		return nil, err
	}
	if s.d.Tail == nil {
		return nil, Unavailable("this process has no live tail")
	}
	if err := s.openStream(ctx, p); err != nil {
		return nil, err
	}
	return s.d.Tail.Subscribe(ctx, p.Tenant, fs, 1024), nil
}

// AnomalyDetected streams the tenant's anomalies as they open and end.
func (s *Service) AnomalyDetected(ctx context.Context, p Principal) (<-chan domain.Anomaly, error) {
	if err := s.allow(ctx, p, "anomalyDetected"); err != nil {
		return nil, err
	}
	return relay(ctx, s, p, func(u updates.Update) *domain.Anomaly { return u.Anomaly })
}

// IncidentUpdated streams the tenant's incidents as they open and change.
func (s *Service) IncidentUpdated(ctx context.Context, p Principal) (<-chan domain.Incident, error) {
	if err := s.allow(ctx, p, "incidentUpdated"); err != nil {
		return nil, err
	}
	return relay(ctx, s, p, func(u updates.Update) *domain.Incident { return u.Incident })
}

// relay passes on the updates of the principal's tenant that pick keeps,
// until ctx ends. Every process has the broker: a gateway streams what
// the detector and the lifecycle publish (across replicas through Redis).
func relay[T any](ctx context.Context, s *Service, p Principal, pick func(updates.Update) *T) (<-chan T, error) {
	if s.d.Updates == nil {
		return nil, Unavailable("this process does not stream anomalies and incidents")
	}
	if err := s.openStream(ctx, p); err != nil {
		return nil, err
	}
	in := s.d.Updates.Subscribe(ctx, p.Tenant)
	out := make(chan T, 16)
	go func() {
		defer close(out)
		for u := range in {
			v := pick(u)
			if v == nil {
				continue
			}
			select {
			case out <- *v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

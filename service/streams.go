package service

import (
	"context"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/storage"
)

// Tail streams the tenant's events as they are stored, filtered, until ctx
// ends. The channel closes then.
func (s *Service) Tail(ctx context.Context, p Principal, filters []Filter) (<-chan storage.Event, error) {
	if err := s.allow(ctx, p, "tail"); err != nil {
		return nil, err
	}
	fs, err := Filters(filters)
	if err != nil {
		return nil, err
	}
	return s.d.Tail.Subscribe(ctx, p.Tenant, fs, 1024), nil
}

// AnomalyDetected streams the tenant's anomalies as they open and end.
func (s *Service) AnomalyDetected(ctx context.Context, p Principal) (<-chan storage.Anomaly, error) {
	if err := s.allow(ctx, p, "anomalyDetected"); err != nil {
		return nil, err
	}
	return relay(ctx, s, p, "anomalies stream", func(u detection.Update) *storage.Anomaly { return u.Anomaly })
}

// IncidentUpdated streams the tenant's incidents as they open and change.
func (s *Service) IncidentUpdated(ctx context.Context, p Principal) (<-chan storage.Incident, error) {
	if err := s.allow(ctx, p, "incidentUpdated"); err != nil {
		return nil, err
	}
	return relay(ctx, s, p, "incidents stream", func(u detection.Update) *storage.Incident { return u.Incident })
}

// relay passes on the detector's updates of the principal's tenant that
// pick keeps, until ctx ends.
func relay[T any](ctx context.Context, s *Service, p Principal, what string, pick func(detection.Update) *T) (<-chan T, error) {
	e, err := s.detector(what)
	if err != nil {
		return nil, err
	}
	in := e.Broker().Subscribe(ctx, p.Tenant)
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

package service

import (
	"context"
	"errors"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/domain"
)

// AnomalyFilter narrows the anomalies listed.
type AnomalyFilter struct {
	Range   Range  `json:"range"`
	Service string `json:"service,omitempty"`
	Limit   *int   `json:"limit,omitempty"`
	// All includes the anomalies that belong to no incident.
	All bool `json:"all,omitempty"`
}

// Anomalies lists anomalies overlapping the range, newest first.
func (s *Service) Anomalies(ctx context.Context, p Principal, f AnomalyFilter) ([]domain.Anomaly, error) {
	tr, limit, err := s.page(ctx, p, "anomalies", f.Range, f.Limit)
	if err != nil {
		return nil, err
	}
	if f.All {
		return s.d.Incidents.Anomalies(ctx, p.Tenant, tr, f.Service, limit)
	}
	// The ones that drive nothing are left out: read deeper to fill the
	// page with those that do.
	as, err := s.d.Incidents.Anomalies(ctx, p.Tenant, tr, f.Service, min(4*limit, domain.MaxPageSize))
	if err != nil {
		return nil, err
	}
	out := as[:0]
	for _, a := range as {
		if a.IncidentWorthy() && len(out) < limit {
			out = append(out, a)
		}
	}
	return out, nil
}

// Incidents lists incidents open at some time in the range, newest first;
// status (open, acknowledged, resolved) narrows them.
func (s *Service) Incidents(ctx context.Context, p Principal, r Range, status string) ([]domain.Incident, error) {
	if err := s.allow(ctx, p, "incidents"); err != nil {
		return nil, err
	}
	tr, err := s.timeRange(&r)
	if err != nil {
		return nil, err
	}
	switch status {
	case "", domain.IncidentOpen, domain.IncidentAcknowledged, domain.IncidentResolved:
	default:
		return nil, Invalid("status %q: want open, acknowledged or resolved", status)
	}
	return s.d.Incidents.Incidents(ctx, p.Tenant, tr, status)
}

// Incident returns one incident, or ErrNotFound.
func (s *Service) Incident(ctx context.Context, p Principal, id string) (*domain.Incident, error) {
	if err := s.allow(ctx, p, "incident"); err != nil {
		return nil, err
	}
	return s.incident(ctx, p.Tenant, id)
}

func (s *Service) incident(ctx context.Context, tenant, id string) (*domain.Incident, error) {
	in, err := s.d.Incidents.Incident(ctx, tenant, id)
	return in, fromStore(err, named("incident", id))
}

// IncidentAnomalies lists an incident's anomalies: part of reading an
// incident, so it needs what reading one needs.
func (s *Service) IncidentAnomalies(ctx context.Context, p Principal, id string) ([]domain.Anomaly, error) {
	if err := s.allow(ctx, p, "incident"); err != nil {
		return nil, err
	}
	in, err := s.incident(ctx, p.Tenant, id)
	if errors.Is(err, ErrNotFound) {
		return []domain.Anomaly{}, nil // an incident gone since it was read has none
	}
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range in.AnomalyIDs {
		want[id] = true
	}
	end := in.ResolvedNano
	if end == 0 {
		end = s.cfg.Now().UnixNano()
	}
	as, err := s.d.Incidents.Anomalies(ctx, p.Tenant, domain.TimeRange{Start: in.OpenedNano - 1, End: end + 1}, "", domain.MaxPageSize)
	if err != nil {
		return nil, err
	}
	out := []domain.Anomaly{}
	for _, a := range as {
		if want[a.ID] {
			out = append(out, a)
		}
	}
	return out, nil
}

// detector is the engine that owns incidents and rules, or an error saying
// that this process does not run one.
func (s *Service) detector(what string) (RuleEngine, error) {
	if s.d.Detection == nil {
		return nil, Unavailable("%s where detection runs (--role all or writer); this process does not run it", what)
	}
	return s.d.Detection, nil
}

// changeIncident runs one lifecycle change and audits it. Two racing
// changes make one transition: the loser reads the winner's result and is
// refused as a conflict.
func (s *Service) changeIncident(ctx context.Context, p Principal, op, action, id string,
	change func(lc IncidentLifecycle, ctx context.Context, tenant, id, actor string) (*domain.Incident, error)) (*domain.Incident, error) {
	if err := s.allow(ctx, p, op); err != nil {
		return nil, err
	}
	if s.d.Lifecycle == nil {
		return nil, Unavailable("incidents cannot be changed: this process has no incident store")
	}
	in, err := change(s.d.Lifecycle, ctx, p.Tenant, id, p.Subject)
	switch {
	case errors.Is(err, incidents.ErrTransition):
		return nil, Conflict("%v", err)
	case err != nil:
		return nil, fromStore(err, named("incident", id))
	}
	s.audit(ctx, p, "incident."+action, id, "ok", in.Status)
	return in, nil
}

// AcknowledgeIncident takes an open incident in hand.
func (s *Service) AcknowledgeIncident(ctx context.Context, p Principal, id string) (*domain.Incident, error) {
	return s.changeIncident(ctx, p, "acknowledgeIncident", "acknowledge", id, IncidentLifecycle.Acknowledge)
}

// ResolveIncident closes an incident by hand.
func (s *Service) ResolveIncident(ctx context.Context, p Principal, id string) (*domain.Incident, error) {
	return s.changeIncident(ctx, p, "resolveIncident", "resolve", id, IncidentLifecycle.Resolve)
}

// ReopenIncident opens a resolved incident again.
func (s *Service) ReopenIncident(ctx context.Context, p Principal, id string) (*domain.Incident, error) {
	return s.changeIncident(ctx, p, "reopenIncident", "reopen", id, IncidentLifecycle.Reopen)
}

// AcceptNewNormal makes the level an open incident's series are at their
// normal: the detector re-learns their baselines and ends their anomalies.
func (s *Service) AcceptNewNormal(ctx context.Context, p Principal, id string) (*domain.Incident, error) {
	return s.changeIncident(ctx, p, "acceptNewNormal", "accept_new_normal", id, IncidentLifecycle.AcceptNewNormal)
}

// MergeIncidents moves the others into the first; they are resolved as
// merged.
func (s *Service) MergeIncidents(ctx context.Context, p Principal, into string, others []string) (*domain.Incident, error) {
	if len(others) == 0 {
		if err := s.allow(ctx, p, "mergeIncidents"); err != nil {
			return nil, err
		}
		return nil, Invalid("name at least one incident to merge into %q", into)
	}
	return s.changeIncident(ctx, p, "mergeIncidents", "merge", into,
		func(lc IncidentLifecycle, ctx context.Context, tenant, id, actor string) (*domain.Incident, error) {
			return lc.Merge(ctx, tenant, id, others, actor)
		})
}

// RuleInput defines a threshold or SLO rule.
type RuleInput struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"` // threshold or slo
	Service   string  `json:"service"`
	Operation string  `json:"operation,omitempty"`
	Signal    string  `json:"signal,omitempty"`
	Op        string  `json:"op,omitempty"`
	Value     float64 `json:"value,omitempty"`
	For       string  `json:"for,omitempty"`
	Objective float64 `json:"objective,omitempty"`
}

// Rules lists the tenant's rules.
func (s *Service) Rules(ctx context.Context, p Principal) ([]domain.Rule, error) {
	if err := s.allow(ctx, p, "rules"); err != nil {
		return nil, err
	}
	return s.d.Rules.Rules(ctx, p.Tenant)
}

// CreateRule watches a service with a threshold or an SLO.
func (s *Service) CreateRule(ctx context.Context, p Principal, in RuleInput) (*domain.Rule, error) {
	if err := s.allow(ctx, p, "createRule"); err != nil {
		return nil, err
	}
	e, err := s.detector("rules are changed")
	if err != nil {
		return nil, err
	}
	r := domain.Rule{Tenant: p.Tenant, Name: in.Name, Kind: in.Kind, Service: in.Service, Operation: in.Operation,
		Signal: in.Signal, Op: in.Op, Value: in.Value, Objective: in.Objective, CreatedBy: p.Subject}
	if in.For != "" {
		d, err := domain.ParseDuration(in.For)
		if err != nil || d < 0 {
			return nil, Invalid("for %q: want a duration such as 1m", in.For)
		}
		r.ForNano = int64(d)
	}
	created, err := e.AddRule(ctx, r)
	if errors.Is(err, detection.ErrBadRule) {
		return nil, invalid(err)
	}
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "rule.create", created.ID, "ok", created.Name)
	return created, nil
}

// DeleteRule stops watching a rule.
func (s *Service) DeleteRule(ctx context.Context, p Principal, id string) error {
	if err := s.allow(ctx, p, "deleteRule"); err != nil {
		return err
	}
	e, err := s.detector("rules are changed")
	if err != nil {
		return err
	}
	err = e.DeleteRule(ctx, p.Tenant, id)
	if err != nil {
		return fromStore(err, named("rule", id))
	}
	s.audit(ctx, p, "rule.delete", id, "ok", "")
	return nil
}

package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inquest/inquest/agents/investigate"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
)

// InvestigationInput asks for an investigation of an incident, of an
// anomaly (its service and what that calls, around its start), or of a
// window (against a baseline, by default the 30 minutes before it),
// optionally narrowed to a service and what it calls, or by filters.
type InvestigationInput struct {
	IncidentID *string  `json:"incidentId,omitempty"`
	AnomalyID  *string  `json:"anomalyId,omitempty"`
	Range      *Range   `json:"range,omitempty"`
	Baseline   *Range   `json:"baseline,omitempty"`
	Service    *string  `json:"service,omitempty"`
	Filters    []Filter `json:"filters,omitempty"`
}

func (s *Service) investigator() (InvestigationRunner, error) {
	if s.d.Investigator == nil || s.d.Investigations == nil {
		return nil, Unavailable("this process runs no investigations")
	}
	return s.d.Investigator, nil
}

// StartInvestigation starts an investigation and returns it running; its
// progress streams on InvestigationProgress.
func (s *Service) StartInvestigation(ctx context.Context, p Principal, in InvestigationInput) (*domain.Investigation, error) {
	if err := s.allow(ctx, p, "startInvestigation"); err != nil {
		return nil, err
	}
	runner, err := s.investigator()
	if err != nil {
		return nil, err
	}
	var sc domain.InvestigationScope
	var incident *domain.Incident
	if id := deref(in.IncidentID); id != "" {
		if incident, err = s.incident(ctx, p.Tenant, id); err != nil {
			return nil, err
		}
		end := s.Now().UnixNano()
		if incident.ResolvedNano > 0 {
			end = incident.ResolvedNano
		}
		sc.Range = domain.TimeRange{Start: incident.OpenedNano - int64(time.Minute), End: max(end, incident.OpenedNano+int64(30*time.Second))}
	}
	if id := deref(in.AnomalyID); id != "" && incident == nil {
		a, err := s.d.Incidents.Anomaly(ctx, p.Tenant, id)
		if err != nil {
			return nil, fromStore(err, named("anomaly", id))
		}
		end := a.EndNano
		if end == 0 {
			end = s.Now().UnixNano()
		}
		sc.Range = domain.TimeRange{Start: a.StartNano - int64(time.Minute), End: max(end, a.StartNano+int64(30*time.Second))}
		sc.Service = a.Service
	}
	if in.Range != nil {
		if sc.Range, err = s.timeRange(in.Range); err != nil {
			return nil, err
		}
	}
	if sc.Range.End == 0 {
		return nil, Invalid("say what to investigate: an incidentId, an anomalyId or a range")
	}
	if in.Baseline != nil {
		if sc.Baseline, err = s.timeRange(in.Baseline); err != nil {
			return nil, Invalid("baseline %v", err)
		}
		if sc.Baseline.End > sc.Range.Start {
			return nil, Invalid("the baseline must end before the range begins")
		}
	}
	if sc.Filters, err = Filters(in.Filters); err != nil {
		return nil, err
	}
	if svc := deref(in.Service); svc != "" {
		sc.Service = svc
	}
	inv := runner.New(p.Tenant, p.Subject, sc)
	if incident != nil {
		inv.IncidentID, inv.Services = incident.ID, incident.Services
	}
	started, err := runner.Submit(ctx, inv)
	if errors.Is(err, investigate.ErrBusy) {
		return nil, Unavailable("%v", err)
	}
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "investigation.start", started.ID, "ok", strings.TrimSpace(inv.IncidentID+" "+sc.Service))
	return started, nil
}

// Investigation returns one investigation of the tenant.
func (s *Service) Investigation(ctx context.Context, p Principal, id string) (*domain.Investigation, error) {
	if err := s.allow(ctx, p, "investigation"); err != nil {
		return nil, err
	}
	if s.d.Investigations == nil {
		return nil, Unavailable("this process keeps no investigations")
	}
	inv, err := s.d.Investigations.Investigation(ctx, p.Tenant, id)
	return inv, fromStore(err, named("investigation", id))
}

// Investigations lists the tenant's investigations started in the range,
// newest first, optionally of one incident.
func (s *Service) Investigations(ctx context.Context, p Principal, r Range, incidentID string) ([]domain.Investigation, error) {
	if err := s.allow(ctx, p, "investigations"); err != nil {
		return nil, err
	}
	if s.d.Investigations == nil {
		return nil, Unavailable("this process keeps no investigations")
	}
	tr, err := s.timeRange(&r)
	if err != nil {
		return nil, err
	}
	return s.d.Investigations.Investigations(ctx, p.Tenant, tr, incidentID, domain.MaxPageSize)
}

// IncidentInvestigation is the incident's newest investigation, nil when
// it has none (yet).
func (s *Service) IncidentInvestigation(ctx context.Context, p Principal, incidentID string) (*domain.Investigation, error) {
	if err := s.allow(ctx, p, "incident"); err != nil {
		return nil, err
	}
	if s.d.Investigations == nil {
		return nil, nil
	}
	list, err := s.d.Investigations.Investigations(ctx, p.Tenant, domain.TimeRange{Start: 0, End: 1<<63 - 1}, incidentID, 1)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// InvestigationProgress streams an investigation's lines: those already
// written first (a late subscriber hears the story from the start), then
// each as it comes, and ends after its last line.
func (s *Service) InvestigationProgress(ctx context.Context, p Principal, id string) (<-chan domain.InvestigationProgress, error) {
	if err := s.allow(ctx, p, "investigationProgress"); err != nil {
		return nil, err
	}
	if s.d.Investigations == nil || s.d.Updates == nil {
		return nil, Unavailable("this process does not stream investigations")
	}
	if err := s.openStream(ctx, p); err != nil {
		return nil, err
	}
	// Subscribe before reading what is stored, so that no line falls
	// between the two; lines are told apart by their number.
	ctx, cancel := context.WithCancel(ctx)
	live := s.d.Updates.Subscribe(ctx, p.Tenant)
	inv, err := s.d.Investigations.Investigation(ctx, p.Tenant, id)
	if err != nil {
		cancel()
		return nil, fromStore(err, named("investigation", id))
	}
	out := make(chan domain.InvestigationProgress, 16)
	go func() {
		defer close(out)
		defer cancel()
		seq := 0
		send := func(l domain.InvestigationProgress) bool {
			if l.Seq <= seq {
				return true
			}
			seq = l.Seq
			select {
			case out <- l:
			case <-ctx.Done():
				return false
			}
			return l.Kind != "done"
		}
		for _, l := range inv.Progress {
			if !send(l) {
				return
			}
		}
		for u := range live {
			if u.Progress == nil || u.Progress.InvestigationID != id {
				continue
			}
			if !send(*u.Progress) {
				return
			}
		}
	}()
	return out, nil
}

// ChangeInput records a change: a deploy, a configuration change, a
// feature flag. Investigations weigh changes shortly before an onset.
type ChangeInput struct {
	Service     string  `json:"service"`
	Type        string  `json:"type"`
	Version     *string `json:"version,omitempty"`
	Previous    *string `json:"previousVersion,omitempty"`
	Description *string `json:"description,omitempty"`
	Commit      *string `json:"commit,omitempty"`
	At          *string `json:"at,omitempty"`
}

// RecordChange stores a change event through ingest, as a JSON event of
// kind change would be.
func (s *Service) RecordChange(ctx context.Context, p Principal, in ChangeInput) (*domain.Event, error) {
	if err := s.allow(ctx, p, "recordChange"); err != nil {
		return nil, err
	}
	if s.d.Pipeline == nil {
		return nil, Unavailable("this process takes no records in")
	}
	if strings.TrimSpace(in.Service) == "" || strings.TrimSpace(in.Type) == "" {
		return nil, Invalid("a change needs a service and a type (deploy, config, feature_flag, ...)")
	}
	at := s.Now()
	if t := deref(in.At); t != "" {
		var err error
		if at, err = domain.ParseTime(t, s.Now()); err != nil {
			return nil, Invalid("at: %v", err)
		}
	}
	e := domain.Event{Tenant: p.Tenant, TimeUnixNano: at.UnixNano(), Kind: domain.KindEvent, Service: in.Service,
		Name: in.Type, Status: domain.StatusUnset, SampleRate: 1}
	e.Attrs.Put(domain.ChangeTypeAttr, in.Type)
	for k, v := range map[string]*string{"version": in.Version, "previous_version": in.Previous, "description": in.Description, "commit": in.Commit} {
		if v != nil && *v != "" {
			e.Attrs.Put(k, *v)
		}
	}
	e.Attrs.Put("author", p.Subject)
	e.Attrs.Sort()
	e.ID = e.ContentHash()
	res, err := s.d.Pipeline.Accept(ctx, ingest.Input{Tenant: p.Tenant, Source: "graphql", Format: ingest.FormatJSONEvents,
		Batch: &ingest.Batch{Events: []domain.Event{e}}, Historical: true})
	if err != nil {
		return nil, Unavailable("the change was not taken: %v", err)
	}
	if res.Accepted == 0 {
		return nil, Invalid("the change was refused: %s", strings.Join(res.Errors, "; "))
	}
	s.audit(ctx, p, "change.record", in.Service, "ok", fmt.Sprintf("%s %s", in.Type, deref(in.Version)))
	return &e, nil
}

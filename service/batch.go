package service

import (
	"context"
	"time"

	"github.com/inquest/inquest/domain"
)

// IncidentRef names an incident with the window its records fall in, as a
// face that listed it knows them: the key the batch reads below go by.
type IncidentRef struct {
	ID         string
	OpenedNano int64
	EndNano    int64 // resolved; 0 while open
}

// span is one window covering every incident's records: from the earliest
// opening (a minute before: an investigation's range starts there) to the
// latest end, or now for an open one. Investigations and proposals may
// come after an incident resolved (a person investigates it afterwards),
// so their reads pass untilNow.
func (s *Service) span(refs []IncidentRef, untilNow bool) domain.TimeRange {
	now := s.cfg.Now().UnixNano()
	r := domain.TimeRange{Start: refs[0].OpenedNano, End: refs[0].EndNano}
	for _, ref := range refs {
		end := ref.EndNano
		if end == 0 || untilNow {
			end = now
		}
		r.Start, r.End = min(r.Start, ref.OpenedNano), max(r.End, end)
	}
	return domain.TimeRange{Start: r.Start - int64(time.Minute), End: r.End + 1}
}

// IncidentsAnomalies is IncidentAnomalies for several incidents in two
// store reads (their incidents, their window's anomalies) instead of two
// each; a window with more anomalies than a page falls back to one read
// per incident, so the answer is the same either way.
func (s *Service) IncidentsAnomalies(ctx context.Context, p Principal, refs []IncidentRef) (map[string][]domain.Anomaly, error) {
	if err := s.allow(ctx, p, "incident"); err != nil || len(refs) == 0 {
		return nil, err
	}
	span := s.span(refs, false)
	ins, err := s.d.Incidents.Incidents(ctx, p.Tenant, span, "")
	if err != nil {
		return nil, fromStore(err, "")
	}
	as, err := s.d.Incidents.Anomalies(ctx, p.Tenant, span, "", domain.MaxPageSize)
	if err != nil {
		return nil, fromStore(err, "")
	}
	byID := map[string]*domain.Incident{}
	for i := range ins {
		byID[ins[i].ID] = &ins[i]
	}
	out := make(map[string][]domain.Anomaly, len(refs))
	for _, ref := range refs {
		in, ok := byID[ref.ID]
		if !ok || len(as) >= domain.MaxPageSize {
			one, err := s.IncidentAnomalies(ctx, p, ref.ID) // gone, or not all in one page
			if err != nil {
				return nil, err
			}
			out[ref.ID] = one
			continue
		}
		want := make(map[string]bool, len(in.AnomalyIDs))
		for _, id := range in.AnomalyIDs {
			want[id] = true
		}
		list := []domain.Anomaly{}
		for _, a := range as {
			if want[a.ID] {
				list = append(list, a)
			}
		}
		out[ref.ID] = list
	}
	return out, nil
}

// IncidentsInvestigation is IncidentInvestigation for several incidents in
// one store read: the investigations started in their window, the newest
// of each incident's. A window with more than a page reads the rest one by
// one.
func (s *Service) IncidentsInvestigation(ctx context.Context, p Principal, refs []IncidentRef) (map[string]*domain.Investigation, error) {
	if err := s.allow(ctx, p, "incident"); err != nil || len(refs) == 0 || s.d.Investigations == nil {
		return map[string]*domain.Investigation{}, err
	}
	list, err := s.d.Investigations.Investigations(ctx, p.Tenant, s.span(refs, true), "", domain.MaxPageSize)
	if err != nil {
		return nil, fromStore(err, "")
	}
	out := map[string]*domain.Investigation{}
	for i := range list { // newest first: the first of each incident is its newest
		if id := list[i].IncidentID; id != "" && out[id] == nil {
			out[id] = &list[i]
		}
	}
	if len(list) >= domain.MaxPageSize {
		for _, ref := range refs {
			if out[ref.ID] == nil {
				inv, err := s.IncidentInvestigation(ctx, p, ref.ID)
				if err != nil {
					return nil, err
				}
				out[ref.ID] = inv
			}
		}
	}
	return out, nil
}

// IncidentsProposals is LinkedProposals for several incidents in one store
// read (the proposals made in their window), falling back to one read per
// incident when the window holds more than a page.
func (s *Service) IncidentsProposals(ctx context.Context, p Principal, refs []IncidentRef) (map[string][]domain.Proposal, error) {
	out := make(map[string][]domain.Proposal, len(refs))
	if s.d.Proposals == nil || len(refs) == 0 {
		return out, nil
	}
	if err := s.allow(ctx, p, "proposals"); err != nil {
		return nil, err
	}
	list, err := s.d.Proposals.Proposals(ctx, p.Tenant, s.span(refs, true), "", "", domain.MaxPageSize)
	if err != nil {
		return nil, fromStore(err, "")
	}
	if len(list) >= domain.MaxPageSize {
		for _, ref := range refs {
			if out[ref.ID], err = s.LinkedProposals(ctx, p, ref.ID, ""); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for _, ref := range refs {
		out[ref.ID] = []domain.Proposal{}
	}
	for _, pr := range list {
		if _, ok := out[pr.IncidentID]; ok {
			out[pr.IncidentID] = append(out[pr.IncidentID], pr)
		}
	}
	return out, nil
}

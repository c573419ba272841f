package resolvers

import (
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/service"
)

func investigationIn(in model.InvestigationInput) service.InvestigationInput {
	return service.InvestigationInput{IncidentID: in.IncidentID, AnomalyID: in.AnomalyID, Range: rangePtr(in.Range), Baseline: rangePtr(in.Baseline),
		Service: in.Service, Filters: filtersIn(in.Filters)}
}

func changeIn(in model.ChangeInput) service.ChangeInput {
	c := service.ChangeInput{Service: in.Service, Type: in.Type, Version: in.Version, Previous: in.PreviousVersion,
		Description: in.Description, Commit: in.Commit}
	if in.At != nil {
		s := in.At.Format(time.RFC3339Nano)
		c.At = &s
	}
	return c
}

func investigationModel(inv *domain.Investigation) *model.Investigation {
	m := &model.Investigation{ID: inv.ID, IncidentID: strPtr(inv.IncidentID), Trigger: inv.Trigger,
		Status: model.InvestigationStatus(inv.Status), From: at(inv.Scope.Range.Start), To: at(inv.Scope.Range.End),
		BaselineFrom: at(inv.Scope.Baseline.Start), BaselineTo: at(inv.Scope.Baseline.End), Service: strPtr(inv.Scope.Service),
		StartedAt: at(inv.StartedNano), FinishedAt: atPtr(inv.FinishedNano), Summary: inv.Summary, Missing: inv.Missing,
		Narrative: strPtr(inv.Narrative), NarrativeModel: strPtr(inv.NarrativeModel),
		Error: strPtr(inv.Error), Hypotheses: []*model.Hypothesis{}, Steps: []*model.InvestigationStep{},
		Similar: []*model.SimilarInvestigation{}}
	if m.Missing == nil {
		m.Missing = []string{}
	}
	for i, h := range inv.Hypotheses {
		m.Hypotheses = append(m.Hypotheses, hypothesisModel(i+1, &h))
	}
	for _, s := range inv.Steps {
		ms := &model.InvestigationStep{Name: s.Name, Status: s.Status, StartedAt: at(s.StartedNano), FinishedAt: atPtr(s.FinishedNano),
			Findings: s.Findings, Error: strPtr(s.Error)}
		if ms.Findings == nil {
			ms.Findings = []string{}
		}
		m.Steps = append(m.Steps, ms)
	}
	for _, s := range inv.Similar {
		m.Similar = append(m.Similar, &model.SimilarInvestigation{ID: s.ID, IncidentID: strPtr(s.IncidentID), Score: s.Score,
			Summary: s.Summary, Resolution: strPtr(s.Resolution)})
	}
	m.Progress = list(inv.Progress, progressModel)
	return m
}

func hypothesisModel(rank int, h *domain.Hypothesis) *model.Hypothesis {
	m := &model.Hypothesis{Rank: rank, Service: h.Service, Cause: model.Cause(h.Cause), Confidence: h.Confidence, Summary: h.Summary,
		Evidence: []*model.Evidence{}, Path: h.Path, Affected: h.Affected, TrafficShare: h.TrafficShare}
	if m.Path == nil {
		m.Path = []string{}
	}
	if m.Affected == nil {
		m.Affected = []string{}
	}
	for _, e := range h.Evidence {
		me := &model.Evidence{Kind: e.Kind, Text: e.Text, Strength: e.Strength}
		if e.Query != nil {
			me.Query = &model.EvidenceQuery{Field: e.Query.Field, Variables: string(e.Query.Variables)}
		}
		m.Evidence = append(m.Evidence, me)
	}
	return m
}

func progressModel(p *domain.InvestigationProgress) *model.InvestigationProgress {
	return &model.InvestigationProgress{InvestigationID: p.InvestigationID, Seq: p.Seq, Kind: p.Kind, Step: strPtr(p.Step),
		Text: p.Text, Time: at(p.TimeUnixNano), Status: model.InvestigationStatus(p.Status)}
}

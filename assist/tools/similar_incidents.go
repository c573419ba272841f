package tools

import (
	"context"

	"github.com/inquest/inquest/service"
)

// SimilarIncidentsIn names the incident to compare.
type SimilarIncidentsIn struct {
	IncidentID string `json:"incident_id" jsonschema:"the incident whose look-alikes are wanted"`
}

// SimilarIncident is a past incident that looked alike, and how it ended.
type SimilarIncident struct {
	IncidentID      string  `json:"incident_id"`
	InvestigationID string  `json:"investigation_id"`
	Score           float64 `json:"score"`
	Summary         string  `json:"summary"`
	Resolution      string  `json:"resolution,omitempty"`
	Link            string  `json:"link"`
}

// SimilarIncidentsOut lists look-alikes, most alike first.
type SimilarIncidentsOut struct {
	Similar []SimilarIncident `json:"similar"`
	Bounds
}

func similarIncidents() Tool {
	return define(Tool{Name: "similar_incidents", Op: "investigation", Budget: 1500,
		Description: "Past incidents whose investigations found the same services and causes as this incident's, most alike first, with how each ended (who resolved it, which remediation worked). " +
			"Use it to learn whether this happened before and what fixed it."},
		func(ctx context.Context, env Env, in SimilarIncidentsIn) (*SimilarIncidentsOut, error) {
			if _, err := env.Svc.Incident(ctx, env.P, in.IncidentID); err != nil {
				return nil, err
			}
			inv, err := env.Svc.IncidentInvestigation(ctx, env.P, in.IncidentID)
			if err != nil {
				return nil, err
			}
			if inv == nil {
				return nil, service.NotFound("incident %s has no investigation yet, and look-alikes come from it; start_investigation first", in.IncidentID)
			}
			out := &SimilarIncidentsOut{Similar: []SimilarIncident{}}
			for _, s := range inv.Similar {
				out.Similar = append(out.Similar, SimilarIncident{IncidentID: s.IncidentID, InvestigationID: s.ID, Score: round(s.Score),
					Summary: clip(s.Summary, 300), Resolution: s.Resolution, Link: link(env, "incident="+s.IncidentID)})
			}
			if len(out.Similar) == 0 {
				out.Note = "no earlier investigation looks like this one"
			}
			return out, nil
		})
}

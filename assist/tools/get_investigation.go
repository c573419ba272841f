package tools

import (
	"context"
	"strconv"
	"strings"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// GetInvestigationIn names an investigation, or the incident whose newest
// one is wanted.
type GetInvestigationIn struct {
	ID         string `json:"id,omitempty" jsonschema:"the investigation id"`
	IncidentID string `json:"incident_id,omitempty" jsonschema:"or the incident whose newest investigation is wanted"`
}

// EvidenceBrief is one fact behind a hypothesis.
type EvidenceBrief struct {
	Kind     string  `json:"kind"`
	Text     string  `json:"text"`
	Strength float64 `json:"strength"`
	// Query is the GraphQL field (and variables) that shows it.
	Query string `json:"query,omitempty"`
}

// HypothesisBrief is a ranked candidate root cause.
type HypothesisBrief struct {
	Rank       int             `json:"rank"`
	Service    string          `json:"service"`
	Cause      string          `json:"cause"`
	Confidence float64         `json:"confidence"`
	Summary    string          `json:"summary,omitempty"`
	Path       []string        `json:"path,omitempty"`
	Affected   []string        `json:"affected,omitempty"`
	Evidence   []EvidenceBrief `json:"evidence"`
}

// GetInvestigationOut is an investigation's state and findings.
type GetInvestigationOut struct {
	ID         string            `json:"id"`
	IncidentID string            `json:"incident_id,omitempty"`
	Status     string            `json:"status"`
	Summary    string            `json:"summary,omitempty"`
	Narrative  string            `json:"narrative,omitempty"`
	Hypotheses []HypothesisBrief `json:"hypotheses"`
	Missing    []string          `json:"missing,omitempty"`
	Steps      []string          `json:"steps"`
	Bounds
}

// Trim keeps the leading hypotheses and their strongest evidence.
func (o *GetInvestigationOut) Trim() bool {
	trimmed := cut(&o.Hypotheses)
	for i := range o.Hypotheses {
		trimmed = cut(&o.Hypotheses[i].Evidence) || trimmed
	}
	if !trimmed {
		return false
	}
	o.Truncated, o.Note = true, "cut to fit: the leading hypotheses and their strongest evidence"
	return true
}

func ftoa(f float64) string { return strconv.FormatFloat(round(f), 'f', -1, 64) }

func getInvestigation() Tool {
	return define(Tool{Name: "get_investigation", Op: "investigation", Budget: 3500,
		Description: "An investigation's status and findings: ranked root-cause hypotheses (service, cause such as bad_deploy, dependency_failure, resource_saturation, " +
			"traffic_surge, config_change, code_error; confidence; the path from the symptom), each with its evidence and the query that shows it, and what evidence was missing. " +
			"Name the investigation or the incident. While status is running, call again. Then list_proposals for the remediations it proposed."},
		func(ctx context.Context, env Env, in GetInvestigationIn) (*GetInvestigationOut, error) {
			var inv *domain.Investigation
			var err error
			switch {
			case strings.TrimSpace(in.ID) != "":
				inv, err = env.Svc.Investigation(ctx, env.P, strings.TrimSpace(in.ID))
			case strings.TrimSpace(in.IncidentID) != "":
				id := strings.TrimSpace(in.IncidentID)
				if _, err = env.Svc.Incident(ctx, env.P, id); err != nil {
					return nil, err
				}
				if inv, err = env.Svc.IncidentInvestigation(ctx, env.P, id); err == nil && inv == nil {
					err = service.NotFound("incident %s has no investigation yet; start_investigation with its id", id)
				}
			default:
				err = service.Invalid("get_investigation: name the investigation (id) or the incident (incident_id)")
			}
			if err != nil {
				return nil, err
			}
			return investigationOut(env, inv), nil
		})
}

func investigationOut(env Env, inv *domain.Investigation) *GetInvestigationOut {
	out := &GetInvestigationOut{ID: inv.ID, IncidentID: inv.IncidentID, Status: inv.Status, Summary: inv.Summary, Narrative: inv.Narrative,
		Hypotheses: []HypothesisBrief{}, Missing: inv.Missing, Steps: []string{}}
	for _, s := range inv.Steps {
		out.Steps = append(out.Steps, s.Name+": "+s.Status)
	}
	for i, h := range inv.Hypotheses {
		if i == 5 {
			out.cutTo(5, len(inv.Hypotheses), "the leading five")
			break
		}
		hb := HypothesisBrief{Rank: i + 1, Service: h.Service, Cause: h.Cause, Confidence: round(h.Confidence), Summary: h.Summary,
			Path: h.Path, Affected: h.Affected, Evidence: []EvidenceBrief{}}
		for _, e := range h.Evidence {
			eb := EvidenceBrief{Kind: e.Kind, Text: clip(e.Text, 300), Strength: round(e.Strength)}
			if e.Query != nil {
				eb.Query = clip(e.Query.Field+" "+string(e.Query.Variables), 400)
			}
			hb.Evidence = append(hb.Evidence, eb)
		}
		out.Hypotheses = append(out.Hypotheses, hb)
	}
	out.Link = link(env, "investigation="+inv.ID)
	return out
}

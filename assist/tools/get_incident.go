package tools

import (
	"context"
	"errors"

	"github.com/inquest/inquest/service"
)

// GetIncidentIn names an incident.
type GetIncidentIn struct {
	ID string `json:"id" jsonschema:"the incident id, from list_incidents"`
}

// AnomalyBrief is an anomaly of an incident.
type AnomalyBrief struct {
	Service     string  `json:"service"`
	Signal      string  `json:"signal"`
	Operation   string  `json:"operation,omitempty"`
	Severity    string  `json:"severity"`
	Expected    float64 `json:"expected"`
	Observed    float64 `json:"observed"`
	Started     string  `json:"started"`
	Ended       string  `json:"ended,omitempty"`
	Explanation string  `json:"explanation"`
}

// TimelineEntry is one line of an incident's timeline.
type TimelineEntry struct {
	Time  string `json:"time"`
	Kind  string `json:"kind"`
	Text  string `json:"text"`
	Actor string `json:"actor,omitempty"`
}

// GetIncidentOut is an incident with its anomalies, timeline, the state
// of its investigation and its proposals.
type GetIncidentOut struct {
	Incident      IncidentBrief   `json:"incident"`
	Anomalies     []AnomalyBrief  `json:"anomalies"`
	Timeline      []TimelineEntry `json:"timeline"`
	Investigation string          `json:"investigation,omitempty"`
	InvStatus     string          `json:"investigation_status,omitempty"`
	TopCause      string          `json:"top_hypothesis,omitempty"`
	Proposals     []ProposalBrief `json:"proposals"`
	Bounds
}

// Trim shortens the anomalies and the timeline.
func (o *GetIncidentOut) Trim() bool {
	return o.halve("cut to fit; open the link for all of it", cut(&o.Anomalies), cut(&o.Timeline))
}

func getIncident() Tool {
	return define(Tool{Name: "get_incident", Op: "incident", Budget: 3000,
		Description: "One incident in full: its anomalies (signal, expected against observed, when), its timeline (opened, deploys, acknowledgements), " +
			"its investigation's id, status and leading hypothesis, and its remediation proposals. Then get_investigation for the ranked causes and their evidence."},
		func(ctx context.Context, env Env, in GetIncidentIn) (*GetIncidentOut, error) {
			inc, err := env.Svc.Incident(ctx, env.P, in.ID)
			if err != nil {
				return nil, err
			}
			out := &GetIncidentOut{Incident: incidentBrief(env, inc), Anomalies: []AnomalyBrief{}, Timeline: []TimelineEntry{}, Proposals: []ProposalBrief{}}
			anomalies, err := env.Svc.IncidentAnomalies(ctx, env.P, in.ID)
			if err != nil {
				return nil, err
			}
			for _, a := range anomalies {
				out.Anomalies = append(out.Anomalies, AnomalyBrief{Service: a.Service, Signal: a.Signal, Operation: a.Operation, Severity: a.Severity,
					Expected: round(a.Expected), Observed: round(a.Observed), Started: ts(a.StartNano), Ended: ts(a.EndNano), Explanation: a.Explanation})
			}
			for _, e := range inc.Timeline {
				out.Timeline = append(out.Timeline, TimelineEntry{Time: ts(e.TimeUnixNano), Kind: e.Kind, Text: clip(e.Text, 200), Actor: e.Actor})
			}
			inv, err := env.Svc.IncidentInvestigation(ctx, env.P, in.ID)
			switch {
			case errors.Is(err, service.ErrNotFound), errors.Is(err, service.ErrUnavailable):
			case err != nil:
				return nil, err
			case inv != nil:
				out.Investigation, out.InvStatus = inv.ID, inv.Status
				if len(inv.Hypotheses) > 0 {
					h := inv.Hypotheses[0]
					out.TopCause = h.Service + ": " + h.Cause + " (confidence " + ftoa(h.Confidence) + ")"
				}
			}
			ps, err := env.Svc.LinkedProposals(ctx, env.P, in.ID, "")
			if err != nil && !errors.Is(err, service.ErrForbidden) {
				return nil, err
			}
			pol := approvers(ctx, env)
			for i := range ps {
				out.Proposals = append(out.Proposals, proposalBrief(env, &ps[i], pol))
			}
			return out, nil
		})
}

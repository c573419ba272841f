package tools

import (
	"context"
	"strings"

	"github.com/inquest/inquest/service"
)

// StartInvestigationIn asks for an investigation of an incident, or of a
// service in a window.
type StartInvestigationIn struct {
	IncidentID string  `json:"incident_id,omitempty" jsonschema:"investigate this incident (its services and time)"`
	Service    string  `json:"service,omitempty" jsonschema:"or investigate this service (and what it calls) in the window"`
	From       string  `json:"from,omitempty" jsonschema:"the window's start when no incident is named: now-30m (default) or RFC3339"`
	To         string  `json:"to,omitempty" jsonschema:"the window's end: now (default)"`
	Baseline   *Window `json:"baseline,omitempty" jsonschema:"what the window is compared with; the 30 minutes before it by default"`
}

// StartInvestigationOut says which investigation runs.
type StartInvestigationOut struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Next   string `json:"next"`
	Link   string `json:"link"`
}

func startInvestigation() Tool {
	return define(Tool{Name: "start_investigation", Op: "startInvestigation", Effect: Creates, Budget: 300,
		Description: "Start an investigation (BubbleUp, the dependency tracer, resources, changes and root-cause ranking) of an incident or of a service in a window. " +
			"An incident usually has one already (see get_incident): start one only when it has none, or for a window no incident covers. " +
			"It runs for seconds; then call get_investigation with the id until its status is done."},
		func(ctx context.Context, env Env, in StartInvestigationIn) (*StartInvestigationOut, error) {
			q := service.InvestigationInput{}
			switch {
			case strings.TrimSpace(in.IncidentID) != "":
				id := strings.TrimSpace(in.IncidentID)
				q.IncidentID = &id
			case strings.TrimSpace(in.Service) != "":
				svc := strings.TrimSpace(in.Service)
				w := Window{From: in.From, To: in.To}
				if w.From == "" {
					w.From = "now-30m"
				}
				r := w.rng()
				q.Service, q.Range = &svc, &r
			default:
				return nil, service.Invalid("start_investigation: name an incident_id, or a service (with from/to)")
			}
			if in.Baseline != nil {
				b := in.Baseline.rng()
				q.Baseline = &b
			}
			inv, err := env.Svc.StartInvestigation(ctx, env.P, q)
			if err != nil {
				return nil, err
			}
			return &StartInvestigationOut{ID: inv.ID, Status: inv.Status, Next: "call get_investigation with this id until status is done",
				Link: link(env, "investigation="+inv.ID)}, nil
		})
}

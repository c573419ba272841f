package tools

import (
	"context"
	"strings"

	"github.com/inquest/inquest/domain"
)

// ListIncidentsIn asks for incidents open at some time in a window.
type ListIncidentsIn struct {
	Window
	Status string `json:"status,omitempty" jsonschema:"open, acknowledged, resolved, or active (open or acknowledged); all when absent"`
}

// IncidentBrief is an incident in one line.
type IncidentBrief struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	Status   string   `json:"status"`
	Services []string `json:"services"`
	OpenedAt string   `json:"opened_at"`
	Resolved string   `json:"resolved_at,omitempty"`
	Link     string   `json:"link"`
}

// ListIncidentsOut lists incidents, newest first.
type ListIncidentsOut struct {
	Incidents []IncidentBrief `json:"incidents"`
	Bounds
}

// Trim drops the older half.
func (o *ListIncidentsOut) Trim() bool {
	return o.halve("cut to fit; narrow the window or ask for status open", cut(&o.Incidents))
}

func incidentBrief(env Env, in *domain.Incident) IncidentBrief {
	b := IncidentBrief{ID: in.ID, Title: in.Title, Severity: in.Severity, Status: in.Status, Services: in.Services,
		OpenedAt: ts(in.OpenedNano), Resolved: ts(in.ResolvedNano), Link: link(env, "incident="+in.ID)}
	if b.Services == nil {
		b.Services = []string{}
	}
	return b
}

func listIncidents() Tool {
	return define(Tool{Name: "list_incidents", Op: "incidents", Budget: 2000,
		Description: "List the incidents Inquest opened by itself from anomalies (grouped along the service graph), newest first: title, severity, status, services (the root-most first) and when. " +
			"Start here when asked what is wrong or why something is slow; then get_incident for its anomalies and timeline, and get_investigation for the ranked root causes."},
		func(ctx context.Context, env Env, in ListIncidentsIn) (*ListIncidentsOut, error) {
			status := strings.ToLower(strings.TrimSpace(in.Status))
			active := status == "active"
			if active {
				status = ""
			}
			w := in.Window
			if w.From == "" {
				w.From = "now-24h"
			}
			list, err := env.Svc.Incidents(ctx, env.P, w.rng(), status)
			if err != nil {
				return nil, err
			}
			out := &ListIncidentsOut{Incidents: []IncidentBrief{}}
			for i := range list {
				if active && list[i].Status == domain.IncidentResolved {
					continue
				}
				out.Incidents = append(out.Incidents, incidentBrief(env, &list[i]))
			}
			if len(out.Incidents) > 25 {
				out.cutTo(25, len(out.Incidents), "narrow the window or ask for status open")
				out.Incidents = out.Incidents[:25]
			}
			out.Link = link(env, "incidents")
			return out, nil
		})
}

package tools

import (
	"context"
	"sort"
	"strings"
)

// ListServicesIn asks for the services seen in a window.
type ListServicesIn struct {
	Window
	Limit int `json:"limit,omitempty" jsonschema:"most services to list, busiest first (default 30)"`
}

// ServiceRow is one service's RED figures.
type ServiceRow struct {
	Name       string   `json:"name"`
	Requests   float64  `json:"requests"`
	RatePerSec float64  `json:"rate_per_s"`
	ErrorRatio float64  `json:"error_ratio"`
	P50Ms      *float64 `json:"p50_ms,omitempty"`
	P99Ms      *float64 `json:"p99_ms,omitempty"`
}

// ListServicesOut lists services, busiest first.
type ListServicesOut struct {
	Services []ServiceRow `json:"services"`
	Total    int          `json:"total"`
	Bounds
}

// Trim drops the quieter half.
func (o *ListServicesOut) Trim() bool {
	if !cut(&o.Services) {
		return false
	}
	o.cutTo(len(o.Services), o.Total, "ask for fewer with limit, or look at one service with aggregate")
	return true
}

func listServices() Tool {
	return define(Tool{Name: "list_services", Op: "services", Budget: 2000,
		Description: "List the services that sent telemetry in a window with their request count, rate, error ratio and p50/p99 latency, busiest first. " +
			"Start here to learn the service names; then use aggregate for one service's breakdown, service_map for who calls whom, or list_incidents for what is wrong."},
		func(ctx context.Context, env Env, in ListServicesIn) (*ListServicesOut, error) {
			svcs, err := env.Svc.Services(ctx, env.P, in.rng())
			if err != nil {
				return nil, err
			}
			out := &ListServicesOut{Services: []ServiceRow{}, Total: len(svcs)}
			for _, s := range svcs {
				row := ServiceRow{Name: s.Name, Requests: round(s.SpanCount), P50Ms: roundp(s.P50Ms), P99Ms: roundp(s.P99Ms)}
				if s.Seconds > 0 {
					row.RatePerSec = round(s.SpanCount / s.Seconds)
				}
				if s.SpanCount > 0 {
					row.ErrorRatio = round(s.ErrorCount / s.SpanCount)
				}
				out.Services = append(out.Services, row)
			}
			sort.SliceStable(out.Services, func(i, j int) bool {
				if out.Services[i].Requests != out.Services[j].Requests {
					return out.Services[i].Requests > out.Services[j].Requests
				}
				return strings.Compare(out.Services[i].Name, out.Services[j].Name) < 0
			})
			limit := in.Limit
			if limit <= 0 {
				limit = 30
			}
			if len(out.Services) > limit {
				out.Services = out.Services[:limit]
				out.cutTo(limit, out.Total, "raise limit or narrow the window")
			}
			out.Link = link(env, "services")
			return out, nil
		})
}

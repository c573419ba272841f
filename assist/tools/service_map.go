package tools

import (
	"context"
	"sort"
)

// ServiceMapIn asks for the call graph, whole or around one service.
type ServiceMapIn struct {
	Window
	Service string `json:"service,omitempty" jsonschema:"only the edges into and out of this service"`
}

// Edge is caller → callee with the calls' figures.
type Edge struct {
	Caller     string   `json:"caller"`
	Callee     string   `json:"callee"`
	Calls      float64  `json:"calls"`
	ErrorRatio float64  `json:"error_ratio"`
	P99Ms      *float64 `json:"p99_ms,omitempty"`
}

// ServiceMapOut is the call graph, busiest edges first.
type ServiceMapOut struct {
	Services []string `json:"services"`
	Edges    []Edge   `json:"edges"`
	Total    int      `json:"total_edges"`
	Bounds
}

// Trim drops the quieter half of the edges.
func (o *ServiceMapOut) Trim() bool {
	if !cut(&o.Edges) {
		return false
	}
	o.cutTo(len(o.Edges), o.Total, "name a service to see only its callers and callees")
	return true
}

func serviceMapTool() Tool {
	return define(Tool{Name: "service_map", Op: "serviceMap", Budget: 2500,
		Description: "The service call graph from traces: which service calls which (caller → callee) with calls, error ratio and p99 per edge, busiest first; " +
			"uninstrumented peers (databases, external APIs) appear as callees. Use it to follow a symptom down its dependencies; name a service to see only its neighbours. " +
			"Then bubble_up or aggregate on the suspect."},
		func(ctx context.Context, env Env, in ServiceMapIn) (*ServiceMapOut, error) {
			m, err := env.Svc.ServiceMap(ctx, env.P, in.rng())
			if err != nil {
				return nil, err
			}
			out := &ServiceMapOut{Services: []string{}, Edges: []Edge{}}
			seen := map[string]bool{}
			for _, e := range m.Edges {
				if in.Service != "" && e.Source != in.Service && e.Target != in.Service {
					continue
				}
				ed := Edge{Caller: e.Source, Callee: e.Target, Calls: round(e.Calls), P99Ms: roundp(e.P99Ms)}
				if e.Calls > 0 {
					ed.ErrorRatio = round(e.Errors / e.Calls)
				}
				out.Edges = append(out.Edges, ed)
				for _, s := range []string{e.Source, e.Target} {
					if !seen[s] {
						seen[s] = true
						out.Services = append(out.Services, s)
					}
				}
			}
			if in.Service == "" {
				for _, n := range m.Nodes {
					if !seen[n.Name] {
						seen[n.Name] = true
						out.Services = append(out.Services, n.Name)
					}
				}
			}
			sort.Strings(out.Services)
			sort.SliceStable(out.Edges, func(i, j int) bool { return out.Edges[i].Calls > out.Edges[j].Calls })
			out.Total = len(out.Edges)
			if len(out.Edges) > 60 {
				out.Edges = out.Edges[:60]
				out.cutTo(60, out.Total, "name a service to see only its callers and callees")
			}
			out.Link = link(env, "map")
			return out, nil
		})
}

package service

import "github.com/inquest/inquest/domain"

// ServiceNode is a node of the service map: a service, or an external peer.
type ServiceNode struct {
	domain.ServiceSummary
	// External marks an uninstrumented callee (a database, a third-party
	// API) named by its callers' peer.service: it has no spans of its own
	// and its figures are its callers' client spans.
	External bool
}

// ServiceMap is the nodes and caller → callee edges of a range.
type ServiceMap struct {
	Nodes []ServiceNode
	Edges []domain.ServiceEdge
}

// serviceMap makes nodes of the services and of the uninstrumented peers
// their client spans name. A peer's figures are its callers' client spans:
// calls, errors and the worst edge p99.
func serviceMap(svcs []domain.ServiceSummary, edges []domain.ServiceEdge) *ServiceMap {
	out := &ServiceMap{Edges: edges}
	seen := map[string]bool{}
	seconds := 1.0
	for _, s := range svcs {
		out.Nodes = append(out.Nodes, ServiceNode{ServiceSummary: s})
		seen[s.Name] = true
		seconds = s.Seconds
	}
	peers := map[string]int{} // name -> index in out.Nodes
	for _, e := range edges {
		if seen[e.Target] {
			continue
		}
		i, ok := peers[e.Target]
		if !ok {
			i = len(out.Nodes)
			peers[e.Target] = i
			out.Nodes = append(out.Nodes, ServiceNode{ServiceSummary: domain.ServiceSummary{Name: e.Target, Seconds: seconds}, External: true})
		}
		p := &out.Nodes[i]
		p.SpanCount += e.Calls
		p.ErrorCount += e.Errors
		if e.P99Ms != nil && (p.P99Ms == nil || *e.P99Ms > *p.P99Ms) {
			v := *e.P99Ms
			p.P99Ms = &v
		}
	}
	return out
}

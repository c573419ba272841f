// Package topology is the service graph: caller → callee edges from
// parent/child spans, the distance between two services, and the order of
// services from the root-most (one that calls none of the others) to its
// callers. Incident grouping uses it today; the dependency tracer and root
// cause analysis will use the same graph.
package topology

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/inquest/inquest/domain"
)

// Graph is a tenant's service graph over a window of time.
type Graph struct {
	Edges []domain.ServiceEdge
}

// Hops is the distance between two services, along edges in either
// direction, up to limit (limit+1 when farther or unconnected).
func (g Graph) Hops(a, b string, limit int) int {
	if a == b {
		return 0
	}
	frontier, seen := []string{a}, map[string]bool{a: true}
	for d := 1; d <= limit; d++ {
		var next []string
		for _, s := range frontier {
			for _, e := range g.Edges {
				if e.Source != s && e.Target != s {
					continue
				}
				for _, n := range []string{e.Target, e.Source} {
					if !seen[n] {
						if n == b {
							return d
						}
						seen[n] = true
						next = append(next, n)
					}
				}
			}
		}
		frontier = next
	}
	return limit + 1
}

// RootFirst orders services root-most first: a service that calls no other
// of them comes first, then the others by their distance to one along
// calls, callers after callees; ties keep their order. It sorts in place.
func (g Graph) RootFirst(services []string) {
	in := map[string]bool{}
	for _, s := range services {
		in[s] = true
	}
	callees := map[string][]string{}
	for _, e := range g.Edges {
		if in[e.Source] && in[e.Target] && e.Source != e.Target {
			callees[e.Source] = append(callees[e.Source], e.Target)
		}
	}
	depth := map[string]int{}
	var walk func(s string, seen map[string]bool) int
	walk = func(s string, seen map[string]bool) int {
		if d, ok := depth[s]; ok {
			return d
		}
		best := 0
		seen[s] = true
		for _, c := range callees[s] {
			if !seen[c] {
				best = max(best, walk(c, seen)+1)
			}
		}
		delete(seen, s)
		depth[s] = best
		return best
	}
	first := map[string]int{}
	for i, s := range services {
		walk(s, map[string]bool{})
		first[s] = i
	}
	sort.SliceStable(services, func(i, j int) bool {
		a, b := services[i], services[j]
		if depth[a] != depth[b] {
			return depth[a] < depth[b]
		}
		return first[a] < first[b]
	})
}

// Source answers a tenant's caller → callee edges over a range.
type Source interface {
	ServiceMap(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceEdge, error)
}

// Cache keeps each tenant's graph of the last Window for TTL: grouping
// asks for it with every new anomaly. Safe for concurrent use.
type Cache struct {
	src    Source
	window time.Duration
	ttl    time.Duration
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	graphs map[string]cached
}

type cached struct {
	at    time.Time
	graph Graph
}

// NewCache reads graphs of the last window from src and keeps them for
// ttl; a nil logger discards.
func NewCache(src Source, window, ttl time.Duration, logger *slog.Logger) *Cache {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Cache{src: src, window: window, ttl: ttl, logger: logger, now: time.Now, graphs: map[string]cached{}}
}

// SetClock makes the cache read time from now (tests, replays).
func (c *Cache) SetClock(now func() time.Time) { c.now = now }

// Graph is the tenant's graph; a failure to read it is logged and gives
// the graph read last (or none): grouping goes on with less to go by.
func (c *Cache) Graph(ctx context.Context, tenant string) Graph {
	now := c.now()
	c.mu.Lock()
	g, ok := c.graphs[tenant]
	c.mu.Unlock()
	if ok && now.Sub(g.at) < c.ttl {
		return g.graph
	}
	edges, err := c.src.ServiceMap(ctx, tenant, domain.TimeRange{Start: now.Add(-c.window).UnixNano(), End: now.Add(time.Minute).UnixNano()})
	if err != nil {
		c.logger.Warn("service graph failed", "tenant", tenant, "err", err)
		edges = g.graph.Edges
	}
	c.mu.Lock()
	c.graphs[tenant] = cached{at: now, graph: Graph{Edges: edges}}
	c.mu.Unlock()
	return Graph{Edges: edges}
}

// Callers lists the services that call s, sorted.
func (g Graph) Callers(s string) []string {
	var out []string
	for _, e := range g.Edges {
		if e.Target == s && e.Source != s {
			out = append(out, e.Source)
		}
	}
	sort.Strings(out)
	return out
}

// Upstream lists every service that reaches s through calls (its callers,
// their callers, ...), nearest first: those whose requests s can slow.
func (g Graph) Upstream(s string) []string {
	seen := map[string]bool{s: true}
	var out []string
	frontier := []string{s}
	for len(frontier) > 0 {
		var next []string
		for _, f := range frontier {
			for _, c := range g.Callers(f) {
				if !seen[c] {
					seen[c] = true
					out = append(out, c)
					next = append(next, c)
				}
			}
		}
		frontier = next
	}
	return out
}

// PathTo is a chain of calls from an entry point (a service nobody calls)
// to s, entry first: the one through the most services marked (the
// anomalous ones), then the shortest. A service with no callers is its own
// path.
func (g Graph) PathTo(s string, marked map[string]bool) []string {
	type node struct {
		path  []string
		score int
	}
	best := map[string]node{s: {path: []string{s}}}
	frontier := []string{s}
	for depth := 0; len(frontier) > 0 && depth < 32; depth++ {
		var next []string
		for _, f := range frontier {
			for _, c := range g.Callers(f) {
				n := node{path: append([]string{c}, best[f].path...), score: best[f].score}
				if marked[c] {
					n.score++
				}
				old, ok := best[c]
				if !ok {
					next = append(next, c)
				}
				if !ok || (len(old.path) == len(n.path) && n.score > old.score) {
					best[c] = n
				}
			}
		}
		frontier = next
	}
	var out node
	for svc, n := range best {
		if len(g.Callers(svc)) > 0 && svc != s {
			continue // not an entry point
		}
		if svc == s && len(g.Callers(s)) > 0 {
			continue
		}
		if out.path == nil || n.score > out.score || (n.score == out.score && (len(n.path) < len(out.path) ||
			(len(n.path) == len(out.path) && n.path[0] < out.path[0]))) {
			out = n
		}
	}
	if out.path == nil {
		return []string{s} // a cycle with no entry point
	}
	return out.path
}

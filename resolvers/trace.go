package resolvers

import (
	"sort"

	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/storage"
)

// waterfall orders spans depth-first with children by start time, the way
// a trace view draws them. Spans whose parent is missing are roots.
func waterfall(traceID string, spans []storage.Event) *model.Trace {
	byID := make(map[string]int, len(spans))
	for i := range spans {
		byID[spans[i].SpanID] = i
	}
	children := make(map[int][]int)
	var roots []int
	start, end := spans[0].TimeUnixNano, spans[0].TimeUnixNano
	services := map[string]bool{}
	t := &model.Trace{TraceID: traceID, SpanCount: len(spans), Services: []string{}}
	for i := range spans {
		s := &spans[i]
		if p, ok := byID[s.ParentSpanID]; ok && s.ParentSpanID != "" && p != i {
			children[p] = append(children[p], i)
		} else {
			roots = append(roots, i)
		}
		start = min(start, s.TimeUnixNano)
		end = max(end, s.TimeUnixNano+s.DurationNano)
		if s.Status == storage.StatusError {
			t.ErrorCount++
		}
		if !services[s.Service] {
			services[s.Service] = true
			t.Services = append(t.Services, s.Service)
		}
	}
	byStart := func(ix []int) {
		sort.SliceStable(ix, func(a, b int) bool { return spans[ix[a]].TimeUnixNano < spans[ix[b]].TimeUnixNano })
	}
	byStart(roots)
	visited := make([]bool, len(spans))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if visited[i] {
			return
		}
		visited[i] = true
		t.Spans = append(t.Spans, &model.TraceSpan{Span: EventModel(&spans[i]), Depth: depth,
			OffsetMs: float64(spans[i].TimeUnixNano-start) / 1e6})
		kids := children[i]
		byStart(kids)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	// Cycles (malformed parent links) leave spans unvisited: list them last.
	for i := range spans {
		if !visited[i] {
			walk(i, 0)
		}
	}
	t.StartTime = formatTime(start)
	t.DurationMs = float64(end-start) / 1e6
	if len(roots) > 0 {
		t.RootService, t.RootName = &spans[roots[0]].Service, &spans[roots[0]].Name
	}
	return t
}

package service

import (
	"sort"

	"github.com/inquest/inquest/domain"
)

// Trace is a trace's spans in waterfall order: depth-first, children by
// start time, the way a trace view draws them.
type Trace struct {
	ID                    string
	StartNano, DurationNs int64
	Services              []string
	ErrorCount            int
	// Root is the first span without a parent in the trace, if any.
	Root  *domain.Event
	Spans []TraceSpan
}

// TraceSpan is a span with its place in the waterfall.
type TraceSpan struct {
	Span       *domain.Event
	Depth      int
	OffsetNano int64
}

// waterfall orders spans; spans whose parent is missing are roots, and
// spans caught in a cycle of parent links come last.
func waterfall(traceID string, spans []domain.Event) *Trace {
	byID := make(map[string]int, len(spans))
	for i := range spans {
		byID[spans[i].SpanID] = i
	}
	children := make(map[int][]int)
	var roots []int
	start, end := spans[0].TimeUnixNano, spans[0].TimeUnixNano
	seen := map[string]bool{}
	t := &Trace{ID: traceID, Services: []string{}}
	for i := range spans {
		s := &spans[i]
		if p, ok := byID[s.ParentSpanID]; ok && s.ParentSpanID != "" && p != i {
			children[p] = append(children[p], i)
		} else {
			roots = append(roots, i)
		}
		start = min(start, s.TimeUnixNano)
		end = max(end, s.TimeUnixNano+s.DurationNano)
		if s.Status == domain.StatusError {
			t.ErrorCount++
		}
		if !seen[s.Service] {
			seen[s.Service] = true
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
		t.Spans = append(t.Spans, TraceSpan{Span: &spans[i], Depth: depth, OffsetNano: spans[i].TimeUnixNano - start})
		kids := children[i]
		byStart(kids)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	for i := range spans {
		if !visited[i] {
			walk(i, 0)
		}
	}
	t.StartNano, t.DurationNs = start, end-start
	if len(roots) > 0 {
		t.Root = &spans[roots[0]]
	}
	return t
}

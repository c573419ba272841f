package tools

import (
	"context"
	"sort"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// GetTraceIn names a trace.
type GetTraceIn struct {
	TraceID string `json:"trace_id" jsonschema:"the trace id (hex), from search_events or an exemplar"`
}

// SpanBrief is a span in a trace summary.
type SpanBrief struct {
	Service    string  `json:"service"`
	Name       string  `json:"name"`
	DurationMs float64 `json:"duration_ms"`
	SelfMs     float64 `json:"self_ms,omitempty"`
	OffsetMs   float64 `json:"offset_ms"`
	Error      string  `json:"error,omitempty"`
}

// GetTraceOut summarises a trace: where its time went and what failed.
type GetTraceOut struct {
	TraceID    string   `json:"trace_id"`
	DurationMs float64  `json:"duration_ms"`
	Spans      int      `json:"spans"`
	Services   []string `json:"services"`
	Root       string   `json:"root,omitempty"`
	// CriticalPath follows, from the root, the child that ends last: the
	// chain the trace's duration waited on.
	CriticalPath []SpanBrief `json:"critical_path"`
	Slowest      []SpanBrief `json:"slowest_by_self_time"`
	Errors       []SpanBrief `json:"errors"`
	Bounds
}

// Trim shortens the lists.
func (o *GetTraceOut) Trim() bool {
	return o.halve("cut to fit; open the link for the whole waterfall", cut(&o.CriticalPath), cut(&o.Slowest), cut(&o.Errors))
}

func getTrace() Tool {
	return define(Tool{Name: "get_trace", Op: "trace", Budget: 2500,
		Description: "Summarise one trace: its duration, services, the critical path (the chain of spans its duration waited on), the spans with the most self time, " +
			"and the spans that failed with their error. Use it on a trace id from search_events to see where a slow or failed request spent its time."},
		func(ctx context.Context, env Env, in GetTraceIn) (*GetTraceOut, error) {
			t, err := env.Svc.Trace(ctx, env.P, in.TraceID)
			if err != nil {
				return nil, err
			}
			return summarise(env, t), nil
		})
}

func summarise(env Env, t *service.Trace) *GetTraceOut {
	out := &GetTraceOut{TraceID: t.ID, DurationMs: round(float64(t.DurationNs) / 1e6), Spans: len(t.Spans), Services: t.Services,
		CriticalPath: []SpanBrief{}, Slowest: []SpanBrief{}, Errors: []SpanBrief{}}
	if t.Root != nil {
		out.Root = t.Root.Service + " " + t.Root.Name
	}
	children := map[string][]*domain.Event{}
	for _, s := range t.Spans {
		children[s.Span.ParentSpanID] = append(children[s.Span.ParentSpanID], s.Span)
	}
	brief := func(e *domain.Event) SpanBrief {
		b := SpanBrief{Service: e.Service, Name: e.Name, DurationMs: round(float64(e.DurationNano) / 1e6),
			OffsetMs: round(float64(e.TimeUnixNano-t.StartNano) / 1e6)}
		var kids int64
		for _, c := range children[e.SpanID] {
			kids += c.DurationNano
		}
		if self := e.DurationNano - kids; self > 0 {
			b.SelfMs = round(float64(self) / 1e6)
		}
		if e.Status == domain.StatusError {
			b.Error = "error"
			if k, v, ok := e.ErrorMessage(); ok {
				b.Error = clip(k+": "+v, 200)
			}
		}
		return b
	}
	// The critical path: from the root, the child that ends last.
	for span, seen := t.Root, map[string]bool{}; span != nil && !seen[span.SpanID] && len(out.CriticalPath) < 20; {
		seen[span.SpanID] = true
		out.CriticalPath = append(out.CriticalPath, brief(span))
		var next *domain.Event
		for _, c := range children[span.SpanID] {
			if next == nil || c.TimeUnixNano+c.DurationNano > next.TimeUnixNano+next.DurationNano {
				next = c
			}
		}
		span = next
	}
	all := make([]SpanBrief, 0, len(t.Spans))
	for _, s := range t.Spans {
		b := brief(s.Span)
		all = append(all, b)
		if b.Error != "" && len(out.Errors) < 10 {
			out.Errors = append(out.Errors, b)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].SelfMs > all[j].SelfMs })
	out.Slowest = all[:min(5, len(all))]
	out.Link = link(env, "trace="+t.ID)
	return out
}

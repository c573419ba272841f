package tools

import (
	"context"
	"strings"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// SearchEventsIn finds raw events (spans, logs, events), newest first.
type SearchEventsIn struct {
	Window
	Filters []Filter `json:"filters,omitempty"`
	Limit   int      `json:"limit,omitempty" jsonschema:"most events (default 10, at most 50)"`
}

// EventRow is an event in brief.
type EventRow struct {
	Time       string            `json:"time"`
	Kind       string            `json:"kind"`
	Service    string            `json:"service"`
	Name       string            `json:"name,omitempty"`
	DurationMs float64           `json:"duration_ms,omitempty"`
	Status     string            `json:"status,omitempty"`
	Body       string            `json:"body,omitempty"`
	TraceID    string            `json:"trace_id,omitempty"`
	Attrs      map[string]string `json:"attrs,omitempty"`
}

// SearchEventsOut lists events, newest first.
type SearchEventsOut struct {
	Events []EventRow `json:"events"`
	More   bool       `json:"more"`
	Bounds
}

// Trim drops the older half.
func (o *SearchEventsOut) Trim() bool {
	return o.halve("cut to fit; add filters (service, status = error, attr.<key>) or use aggregate for counts", cut(&o.Events))
}

// maxAttrs bounds the attributes shown per event; long values are cut.
const maxAttrs = 12

func eventRow(e *domain.Event) EventRow {
	r := EventRow{Time: ts(e.TimeUnixNano), Kind: string(e.Kind), Service: e.Service, Name: e.Name, TraceID: e.TraceID,
		DurationMs: round(float64(e.DurationNano) / 1e6), Body: clip(e.Body, 300)}
	if e.Status == domain.StatusError {
		r.Status = "error"
	}
	for i, k := range e.Attrs.Keys {
		if len(r.Attrs) == maxAttrs {
			break
		}
		if r.Attrs == nil {
			r.Attrs = map[string]string{}
		}
		r.Attrs[k] = clip(e.Attrs.Values[i], 120)
	}
	return r
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func searchEvents() Tool {
	return define(Tool{Name: "search_events", Op: "events", Budget: 3000,
		Description: "Find individual events, spans and log lines matching filters, newest first, each in brief (time, service, name, duration, status, body, trace id, a few attributes). " +
			"Use it for examples after aggregate or bubble_up has told you where to look (for example status = error and attr.payment_provider = stripe_v3); " +
			"then get_trace on a trace id. For counts use aggregate, not this."},
		func(ctx context.Context, env Env, in SearchEventsIn) (*SearchEventsOut, error) {
			limit := in.Limit
			if limit <= 0 {
				limit = 10
			}
			if limit > 50 {
				return nil, service.Invalid("search_events: limit %d is more than 50; use aggregate for counts", limit)
			}
			page, err := env.Svc.Events(ctx, env.P, service.EventsInput{Range: in.rng(), Filters: filtersIn(in.Filters), First: &limit})
			if err != nil {
				return nil, err
			}
			out := &SearchEventsOut{Events: []EventRow{}, More: page.Next != nil}
			for i := range page.Events {
				out.Events = append(out.Events, eventRow(&page.Events[i]))
			}
			return out, nil
		})
}

package tools

import (
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// Window is the time window most tools take, as people type it.
type Window struct {
	From string `json:"from,omitempty" jsonschema:"start of the window: now-1h (the default), now-15m, now-2d, or RFC3339 such as 2026-11-30T10:00:00Z"`
	To   string `json:"to,omitempty" jsonschema:"end of the window: now (the default) or RFC3339"`
}

func (w Window) rng() service.Range {
	r := service.Range{From: strings.TrimSpace(w.From), To: strings.TrimSpace(w.To)}
	if r.From == "" {
		r.From = "now-1h"
	}
	if r.To == "" {
		r.To = "now"
	}
	return r
}

// Filter is a condition on a field of events.
type Filter struct {
	Field  string   `json:"field" jsonschema:"service, name, kind, status, severity, body, trace_id, duration_ms, attr.<key> such as attr.http.route, res.<key>"`
	Op     string   `json:"op,omitempty" jsonschema:"one of = != > >= < <= in not-in contains not-contains exists not-exists; = when absent"`
	Value  string   `json:"value,omitempty"`
	Values []string `json:"values,omitempty" jsonschema:"for in and not-in"`
}

func filtersIn(in []Filter) []service.Filter {
	out := make([]service.Filter, 0, len(in))
	for _, f := range in {
		op := domain.Op(strings.TrimSpace(f.Op))
		if op == "" {
			op = domain.OpEq
		}
		sf := service.Filter{Field: strings.TrimSpace(f.Field), Op: op, Values: f.Values}
		if op != domain.OpExists && op != domain.OpNotExists && op != domain.OpIn && op != domain.OpNotIn {
			v := f.Value
			sf.Value = &v
		}
		out = append(out, sf)
	}
	return out
}

// serviceFilter narrows to one service when named.
func serviceFilter(svc string, rest []Filter) []Filter {
	if svc = strings.TrimSpace(svc); svc != "" {
		return append([]Filter{{Field: "service", Value: svc}}, rest...)
	}
	return rest
}

// link is a dashboard address for a fragment such as "incident=ID".
func link(env Env, fragment string) string {
	return strings.TrimSuffix(env.BaseURL, "/") + "/#" + fragment
}

// exploreLink opens an aggregate in the dashboard's Explore page.
func exploreLink(env Env, v any) string {
	b, _ := json.Marshal(v)
	return link(env, "explore="+url.QueryEscape(string(b)))
}

// round keeps three significant decimals, so that outputs stay short.
func round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

func roundp(v *float64) *float64 {
	if v == nil {
		return nil
	}
	r := round(*v)
	return &r
}

func ts(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339)
}

// Bounds is what every list output says about itself.
type Bounds struct {
	// Truncated is set when the list was cut to fit; Note says how to
	// narrow the question.
	Truncated bool   `json:"truncated,omitempty"`
	Note      string `json:"note,omitempty"`
	// Link opens the full view in the dashboard.
	Link string `json:"link,omitempty"`
}

func (b *Bounds) cutTo(shown, of int, narrow string) {
	b.Truncated = true
	b.Note = "showing " + itoa(shown) + " of " + itoa(of) + "; " + narrow
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// halve marks an output cut to fit when any of its lists was (each cut
// is made before halve is called), with a note on how to narrow it.
func (b *Bounds) halve(note string, cuts ...bool) bool {
	for _, c := range cuts {
		if c {
			b.Truncated, b.Note = true, note
			return true
		}
	}
	return false
}

// Package evidence writes the query behind a piece of evidence as the
// GraphQL field and variables that show it, so that the dashboard, the ask
// box and MCP open exactly what an agent looked at. Field names follow the
// filter syntax (service, duration_ms, attr.<key>, res.<key>).
package evidence

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
)

type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func rng(r domain.TimeRange) timeRange {
	return timeRange{From: time.Unix(0, r.Start).UTC().Format(time.RFC3339), To: time.Unix(0, r.End).UTC().Format(time.RFC3339)}
}

// Filter is a filter as GraphQL takes it.
type Filter struct {
	Field  string   `json:"field"`
	Op     string   `json:"op"`
	Value  string   `json:"value,omitempty"`
	Values []string `json:"values,omitempty"`
}

// Eq is field = value.
func Eq(field, value string) Filter { return Filter{Field: field, Op: "EQ", Value: value} }

// FromStorage writes storage filters as GraphQL's.
func FromStorage(fs []domain.Filter) []Filter {
	out := make([]Filter, 0, len(fs))
	for _, f := range fs {
		g := Filter{Field: f.Field.String(), Op: opName(f.Op), Values: f.Values}
		if f.Op != domain.OpIn && f.Op != domain.OpNotIn {
			g.Value = f.Value
		}
		out = append(out, g)
	}
	return out
}

func opName(op domain.Op) string {
	switch op {
	case domain.OpEq:
		return "EQ"
	case domain.OpNe:
		return "NE"
	case domain.OpGt:
		return "GT"
	case domain.OpGe:
		return "GE"
	case domain.OpLt:
		return "LT"
	case domain.OpLe:
		return "LE"
	case domain.OpIn:
		return "IN"
	case domain.OpNotIn:
		return "NOT_IN"
	case domain.OpContains:
		return "CONTAINS"
	case domain.OpNotContains:
		return "NOT_CONTAINS"
	case domain.OpExists:
		return "EXISTS"
	case domain.OpNotExists:
		return "NOT_EXISTS"
	}
	return strings.ToUpper(string(op))
}

func query(field string, vars any) *domain.EvidenceQuery {
	b, err := json.Marshal(vars)
	if err != nil {
		return nil
	}
	return &domain.EvidenceQuery{Field: field, Variables: b}
}

// Aggregation is one aggregation as GraphQL takes it ("P99", "duration_ms").
type Aggregation struct {
	Op    string `json:"op"`
	Field string `json:"field,omitempty"`
}

// Aggregate is an aggregate query over r, bucketed by bucket.
func Aggregate(r domain.TimeRange, filters []Filter, bucket string, aggs ...Aggregation) *domain.EvidenceQuery {
	type input struct {
		Range        timeRange     `json:"range"`
		Filters      []Filter      `json:"filters,omitempty"`
		Aggregations []Aggregation `json:"aggregations,omitempty"`
		Bucket       string        `json:"bucket,omitempty"`
	}
	return query("aggregate", map[string]any{"input": input{Range: rng(r), Filters: filters, Aggregations: aggs, Bucket: bucket}})
}

// BubbleUp is a bubbleUp query; baseline may be nil.
func BubbleUp(r domain.TimeRange, filters, selection []Filter, baseline *domain.TimeRange) *domain.EvidenceQuery {
	type input struct {
		Range     timeRange  `json:"range"`
		Filters   []Filter   `json:"filters,omitempty"`
		Selection []Filter   `json:"selection,omitempty"`
		Baseline  *timeRange `json:"baseline,omitempty"`
	}
	in := input{Range: rng(r), Filters: filters, Selection: selection}
	if baseline != nil {
		b := rng(*baseline)
		in.Baseline = &b
	}
	return query("bubbleUp", map[string]any{"input": in})
}

// MetricSeries is a metricSeries query for q.
func MetricSeries(q domain.MetricQuery) *domain.EvidenceQuery {
	type matcher struct {
		Name  string `json:"name"`
		Op    string `json:"op"`
		Value string `json:"value"`
	}
	type input struct {
		Name     string    `json:"name"`
		Matchers []matcher `json:"matchers,omitempty"`
		Range    timeRange `json:"range"`
		Step     string    `json:"step,omitempty"`
		Function string    `json:"function,omitempty"`
	}
	in := input{Name: q.Name, Range: rng(q.Range), Function: strings.ToUpper(string(q.Func))}
	if q.Step > 0 {
		in.Step = q.Step.String()
	}
	for _, m := range q.Matchers {
		op := map[domain.MatchOp]string{domain.MatchEq: "EQ", domain.MatchNe: "NE", domain.MatchRe: "RE", domain.MatchNotRe: "NRE"}[m.Op]
		in.Matchers = append(in.Matchers, matcher{Name: m.Name, Op: op, Value: m.Value})
	}
	return query("metricSeries", map[string]any{"input": in})
}

// Events is an events query.
func Events(r domain.TimeRange, filters []Filter) *domain.EvidenceQuery {
	return query("events", map[string]any{"range": rng(r), "filters": filters})
}

package tools

import (
	"context"

	"github.com/inquest/inquest/service"
)

// BubbleUpIn compares the bad events with the rest.
type BubbleUpIn struct {
	Window
	Selection []Filter `json:"selection" jsonschema:"which events are the bad ones, such as status = error or duration_ms > 500"`
	Filters   []Filter `json:"filters,omitempty" jsonschema:"the scope both sides share, such as service = checkout"`
	Baseline  *Window  `json:"baseline,omitempty" jsonschema:"compare with everything in the scope during this window instead of the rest of the window"`
	Limit     int      `json:"limit,omitempty" jsonschema:"most fields (default 8)"`
}

// BubbleUpValue is one value's share of each side.
type BubbleUpValue struct {
	Value     string  `json:"value"`
	Selection float64 `json:"selection_share"`
	Baseline  float64 `json:"baseline_share"`
}

// BubbleUpField is a field and its most over-represented values.
type BubbleUpField struct {
	Field  string          `json:"field"`
	Score  float64         `json:"score"`
	Values []BubbleUpValue `json:"values"`
}

// BubbleUpOut ranks the fields that set the selection apart.
type BubbleUpOut struct {
	SelectionEvents float64         `json:"selection_events"`
	BaselineEvents  float64         `json:"baseline_events"`
	Fields          []BubbleUpField `json:"fields"`
	Bounds
}

// Trim drops the weaker half of the fields.
func (o *BubbleUpOut) Trim() bool {
	return o.halve("cut to fit; the strongest fields are first", cut(&o.Fields))
}

func bubbleUp() Tool {
	return define(Tool{Name: "bubble_up", Op: "bubbleUp", Budget: 2500,
		Description: "BubbleUp: which attribute values are over-represented in the bad events (the selection) compared with the rest — for example which region, customer, " +
			"endpoint, version or payment provider the slow or failed requests share. Each side is normalised to 100 %, so a share difference means the value is unusual among the bad ones. " +
			"Use it after list_incidents, aggregate or top_errors has shown something is wrong; answers 'which customers see errors?' and 'what do the slow requests have in common?'."},
		func(ctx context.Context, env Env, in BubbleUpIn) (*BubbleUpOut, error) {
			if len(in.Selection) == 0 {
				return nil, service.Invalid("bubble_up: say which events are the bad ones in selection, such as {field: status, value: error} or {field: duration_ms, op: >, value: 500}")
			}
			limit := in.Limit
			if limit <= 0 {
				limit = 8
			}
			values := 3
			q := service.BubbleUpInput{Range: in.rng(), Filters: filtersIn(in.Filters), Selection: filtersIn(in.Selection), Limit: &limit, Values: &values}
			if in.Baseline != nil {
				b := in.Baseline.rng()
				q.Baseline = &b
			}
			res, err := env.Svc.BubbleUp(ctx, env.P, q)
			if err != nil {
				return nil, err
			}
			out := &BubbleUpOut{SelectionEvents: round(res.Selection), BaselineEvents: round(res.Baseline), Fields: []BubbleUpField{}}
			for _, f := range res.Fields {
				bf := BubbleUpField{Field: f.Field, Score: round(f.Score), Values: []BubbleUpValue{}}
				for _, v := range f.Values {
					bf.Values = append(bf.Values, BubbleUpValue{Value: clip(v.Value, 120), Selection: round(v.SelectionShare), Baseline: round(v.BaselineShare)})
				}
				out.Fields = append(out.Fields, bf)
			}
			out.Link = exploreLink(env, q)
			return out, nil
		})
}

package server

import (
	"time"

	"github.com/inquest/inquest/graph"
	"github.com/inquest/inquest/graph/model"
)

// queryCost weighs the fields that scan events by what they cost the
// store, so that --max-query-complexity bounds work, not just the number
// of fields: an aggregation's cost grows with its kind (a distinct count
// or a percentile keeps far more state than a sum) and with the days its
// range covers. Six hundred aliased count_distinct aggregates over a week
// are refused before they run.
func queryCost() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	c.Query.Aggregate = func(child int, in model.AggregateInput) int {
		days := rangeDays(in.Range)
		cost := 0
		for _, a := range in.Aggregations {
			cost += aggregationWeight[a.Op]
		}
		if len(in.Aggregations) == 0 {
			cost = aggregationWeight[model.AggregateOpCount]
		}
		return child + cost*days + 5*len(in.GroupBy)
	}
	c.Query.Events = func(child int, r model.TimeRangeInput, _ []*model.FilterInput, first *int, _ *string) int {
		n := 50
		if first != nil {
			n = *first
		}
		return child + 1 + n/100 + rangeDays(&r)
	}
	c.Query.BubbleUp = func(child int, in model.BubbleUpInput) int {
		days := rangeDays(in.Range)
		if in.Baseline != nil {
			days += rangeDays(in.Baseline)
		}
		return child + 20*days // every field value of every event, grouped
	}
	c.Query.Services = func(child int, r model.TimeRangeInput) int { return child + 10*rangeDays(&r) }
	c.Query.ServiceMap = func(child int, r model.TimeRangeInput) int { return child + 40*rangeDays(&r) } // a self-join
	c.Query.MetricSeries = func(child int, in model.MetricQueryInput, _ *string) int { return child + 5*rangeDays(in.Range) }
	// A question runs the ask box's plan: one to a few of the queries
	// above, whose cost it cannot know before it has read the question.
	// Priced as several aggregates, so that aliasing hundreds of them in
	// one request is refused (300 ran 300 aggregates before).
	c.Query.Ask = func(child int, _ string, r *model.TimeRangeInput, _ *string) int { return child + askCost*rangeDays(r) }
	c.Subscription.AskStream = func(child int, _ string, r *model.TimeRangeInput, _ *string) int { return child + askCost*rangeDays(r) }
	return c
}

// askCost is what one question costs per day of its range: about as much
// as a handful of percentile aggregates.
const askCost = 100

// aggregationWeight is what one aggregation costs per day of range.
var aggregationWeight = map[model.AggregateOp]int{
	model.AggregateOpCount: 2, model.AggregateOpRate: 2, model.AggregateOpSum: 3, model.AggregateOpAvg: 3,
	model.AggregateOpMin: 3, model.AggregateOpMax: 3,
	model.AggregateOpP50: 10, model.AggregateOpP90: 10, model.AggregateOpP95: 10, model.AggregateOpP99: 10,
	model.AggregateOpCountDistinct: 20,
}

// rangeDays is the number of days a range touches, at least one.
func rangeDays(r *model.TimeRangeInput) int {
	if r == nil || !r.To.After(r.From) {
		return 1
	}
	return int(r.To.Sub(r.From)/(24*time.Hour)) + 1
}

package tools

import (
	"context"
	"math"
	"strings"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// QueryMetricsIn asks for a metric's series, summarised.
type QueryMetricsIn struct {
	Window
	Name     string            `json:"name,omitempty" jsonschema:"the metric name, such as process.cpu.utilization; leave empty to list the metric names seen"`
	Labels   map[string]string `json:"labels,omitempty" jsonschema:"label = value matchers, such as service.name = payment"`
	Function string            `json:"function,omitempty" jsonschema:"per step: avg (default), min, max, sum, count, last, rate (per second, for counters), increase"`
	GroupBy  []string          `json:"group_by,omitempty" jsonschema:"labels to sum the series by"`
	Step     string            `json:"step,omitempty" jsonschema:"the step, such as 1m; chosen from the window when absent"`
}

// SeriesSummary is one series in numbers.
type SeriesSummary struct {
	Labels map[string]string `json:"labels"`
	Points int               `json:"points"`
	Min    float64           `json:"min"`
	Max    float64           `json:"max"`
	Avg    float64           `json:"avg"`
	Last   float64           `json:"last"`
	// Sparkline is up to 12 evenly spaced values, oldest first.
	Sparkline []float64 `json:"sparkline"`
}

// QueryMetricsOut holds the series (or the names when none was asked).
type QueryMetricsOut struct {
	Names  []string        `json:"names,omitempty"`
	Series []SeriesSummary `json:"series"`
	Bounds
}

// Trim drops half the series (or names).
func (o *QueryMetricsOut) Trim() bool {
	if !cut(&o.Series) && !cut(&o.Names) {
		return false
	}
	o.Truncated, o.Note = true, "cut to fit; add labels or group_by to narrow"
	return true
}

func queryMetrics() Tool {
	return define(Tool{Name: "query_metrics", Op: "metricSeries", Budget: 2500,
		Description: "Read a metric's series over a window (from OpenTelemetry or Prometheus remote write), each summarised as min, max, average, last and a 12-point sparkline. " +
			"Without a name it lists the metric names seen. Use it for resource signals (CPU, memory, queue depth) of a suspect service; " +
			"request latency and errors come from spans through aggregate."},
		func(ctx context.Context, env Env, in QueryMetricsIn) (*QueryMetricsOut, error) {
			out := &QueryMetricsOut{Series: []SeriesSummary{}}
			if strings.TrimSpace(in.Name) == "" {
				names, err := env.Svc.MetricNames(ctx, env.P, in.rng())
				if err != nil {
					return nil, err
				}
				out.Names = names
				if len(out.Names) > 200 {
					out.Names = out.Names[:200]
					out.cutTo(200, len(names), "name the metric you want")
				}
				return out, nil
			}
			q := service.MetricInput{Name: strings.TrimSpace(in.Name), Range: in.rng(), Step: in.Step,
				Function: domain.MetricFunc(in.Function), GroupBy: in.GroupBy}
			for k, v := range in.Labels {
				q.Matchers = append(q.Matchers, domain.LabelMatcher{Name: k, Op: domain.MatchEq, Value: v})
			}
			if len(in.GroupBy) > 0 {
				q.Group = domain.GroupSum
			}
			limit := 50
			q.Limit = &limit
			series, err := env.Svc.MetricSeries(ctx, env.P, q, nil)
			if err != nil {
				return nil, err
			}
			for _, s := range series {
				out.Series = append(out.Series, summariseSeries(s))
			}
			if len(series) == limit {
				out.Truncated, out.Note = true, "the first 50 series; add labels or group_by to narrow"
			}
			return out, nil
		})
}

func summariseSeries(s domain.MetricSeries) SeriesSummary {
	sum := SeriesSummary{Labels: map[string]string{}, Points: len(s.Points), Min: math.Inf(1), Max: math.Inf(-1), Sparkline: []float64{}}
	for i, k := range s.Labels.Keys {
		sum.Labels[k] = s.Labels.Values[i]
	}
	var total float64
	for _, p := range s.Points {
		sum.Min, sum.Max = math.Min(sum.Min, p.Value), math.Max(sum.Max, p.Value)
		total += p.Value
	}
	if len(s.Points) == 0 {
		sum.Min, sum.Max = 0, 0
		return sum
	}
	sum.Avg, sum.Last = round(total/float64(len(s.Points))), round(s.Points[len(s.Points)-1].Value)
	sum.Min, sum.Max = round(sum.Min), round(sum.Max)
	n := min(12, len(s.Points))
	for i := 0; i < n; i++ {
		sum.Sparkline = append(sum.Sparkline, round(s.Points[i*len(s.Points)/n].Value))
	}
	return sum
}

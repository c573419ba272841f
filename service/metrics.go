package service

import (
	"context"
	"time"

	"github.com/inquest/inquest/domain"
)

// MetricInput reads as PromQL's
// `group by (groupBy) (function(name{matchers}[step]))`.
type MetricInput struct {
	Name      string                `json:"name,omitempty"`
	Matchers  []domain.LabelMatcher `json:"matchers,omitempty"`
	Range     Range                 `json:"range"`
	Step      string                `json:"step,omitempty"`
	Function  domain.MetricFunc     `json:"function,omitempty"`
	GroupBy   []string              `json:"groupBy,omitempty"`
	Group     domain.GroupFunc      `json:"groupFunction,omitempty"`
	Aggregate bool                  `json:"aggregate,omitempty"`
	Limit     *int                  `json:"limit,omitempty"`
}

// step reads an optional step; 0 lets the store choose (range/250).
func step(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := domain.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, Invalid("step %q: want a duration such as 15s or 1m", v)
	}
	return d, nil
}

// MetricSeries runs a structured metric query, or, with promql, a raw
// PromQL expression over the input's range and step (VictoriaMetrics only).
func (s *Service) MetricSeries(ctx context.Context, p Principal, in MetricInput, promql *string) ([]domain.MetricSeries, error) {
	release, err := s.scan(ctx, p, "metricSeries")
	if err != nil {
		return nil, err
	}
	defer release()
	tr, err := s.timeRange(&in.Range)
	if err != nil {
		return nil, err
	}
	st, err := step(in.Step)
	if err != nil {
		return nil, err
	}
	if promql != nil {
		if s.d.PromQL == nil {
			return nil, Invalid("raw PromQL needs VictoriaMetrics (start the server with --victoriametrics-url); the embedded store answers the structured query (name, matchers, function, groupBy)")
		}
		if in.Name != "" || len(in.Matchers) > 0 || len(in.GroupBy) > 0 || in.Limit != nil || in.Aggregate {
			return nil, Invalid("with promql, give only range and step in input: the expression says the rest")
		}
		series, err := s.d.PromQL.PromQL(ctx, p.Tenant, *promql, tr, st)
		return series, fromStore(err, "")
	}
	q := domain.MetricQuery{Tenant: p.Tenant, Name: in.Name, Matchers: in.Matchers, Range: tr, Step: st,
		Func: in.Function, GroupBy: in.GroupBy, Group: in.Group, Aggregate: in.Aggregate}
	if in.Limit != nil {
		q.Limit = *in.Limit
	}
	if err := q.Validate(); err != nil {
		return nil, invalid(err)
	}
	series, err := s.d.Metrics.MetricSeries(ctx, q)
	if err != nil {
		return nil, fromStore(err, "")
	}
	markPartial(series, q.Range, q.Step, s.cfg.Now())
	return series, nil
}

// markPartial flags the points whose step [t, t+step) is not wholly inside
// the range and the past: its value covers only part of a step. The step
// is the one q.Validate settled on.
func markPartial(series []domain.MetricSeries, r domain.TimeRange, step time.Duration, now time.Time) {
	end := min(r.End, now.UnixNano())
	for i := range series {
		for j := range series[i].Points {
			p := &series[i].Points[j]
			p.Partial = p.TimeUnixNano < r.Start || p.TimeUnixNano+int64(step) > end
		}
	}
}

// MetricNames lists the metric names seen in the range.
func (s *Service) MetricNames(ctx context.Context, p Principal, r Range) ([]string, error) {
	if err := s.allow(ctx, p, "metricNames"); err != nil {
		return nil, err
	}
	tr, err := s.timeRange(&r)
	if err != nil {
		return nil, err
	}
	names, err := s.d.Metrics.MetricNames(ctx, p.Tenant, tr)
	return names, fromStore(err, "")
}

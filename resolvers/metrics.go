package resolvers

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/storage"
)

var matchOps = map[model.MatchOp]storage.MatchOp{
	model.MatchOpEq: storage.MatchEq, model.MatchOpNe: storage.MatchNe, model.MatchOpRe: storage.MatchRe, model.MatchOpNre: storage.MatchNotRe,
}

func (r *Resolver) metricQuery(tenantID string, in model.MetricQueryInput) (storage.MetricQuery, error) {
	q := storage.MetricQuery{Tenant: tenantID, Name: deref(in.Name), GroupBy: in.GroupBy, Aggregate: in.Aggregate != nil && *in.Aggregate}
	var err error
	if q.Range, err = r.timeRange(in.Range); err != nil {
		return q, err
	}
	for _, m := range in.Matchers {
		op := storage.MatchEq
		if m.Op != nil {
			op = matchOps[*m.Op]
		}
		q.Matchers = append(q.Matchers, storage.LabelMatcher{Name: m.Name, Op: op, Value: m.Value})
	}
	if in.Step != nil && *in.Step != "" {
		d, err := storage.ParseDuration(*in.Step)
		if err != nil || d <= 0 {
			return q, userErr("step %q: want a duration such as 15s or 1m", *in.Step)
		}
		q.Step = d
	}
	if in.Function != nil {
		q.Func = storage.MetricFunc(strings.ToLower(string(*in.Function)))
	}
	if in.GroupFunction != nil {
		q.Group = storage.GroupFunc(strings.ToLower(string(*in.GroupFunction)))
	}
	if in.Limit != nil {
		q.Limit = *in.Limit
	}
	if err := q.Validate(); err != nil {
		return q, asUser(err)
	}
	return q, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// promQL runs a raw expression over the input's range and step.
func (r *Resolver) promQL(ctx context.Context, tenantID, expr string, in model.MetricQueryInput) ([]storage.MetricSeries, error) {
	if r.PromQL == nil {
		return nil, userErr("raw PromQL needs VictoriaMetrics (start the server with --victoriametrics-url); the embedded store answers the structured query (name, matchers, function, groupBy)")
	}
	if in.Name != nil || len(in.Matchers) > 0 || len(in.GroupBy) > 0 || in.Limit != nil || (in.Aggregate != nil && *in.Aggregate) {
		return nil, userErr("with promql, give only range and step in input: the expression says the rest")
	}
	tr, err := r.timeRange(in.Range)
	if err != nil {
		return nil, err
	}
	var step time.Duration
	if in.Step != nil && *in.Step != "" {
		if step, err = storage.ParseDuration(*in.Step); err != nil || step <= 0 {
			return nil, userErr("step %q: want a duration such as 15s or 1m", *in.Step)
		}
	}
	series, err := r.PromQL.PromQL(ctx, tenantID, expr, tr, step)
	if errors.Is(err, storage.ErrBadQuery) {
		return nil, asUser(err)
	}
	return series, err
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func serviceModel(s storage.ServiceSummary) *model.ServiceSummary {
	rate := 0.0
	if s.Seconds > 0 {
		rate = s.SpanCount / s.Seconds
	}
	return &model.ServiceSummary{Name: s.Name, SpanCount: int(s.SpanCount + 0.5), ErrorCount: int(s.ErrorCount + 0.5),
		ErrorRate: ratio(s.ErrorCount, s.SpanCount), RequestRate: rate, P50Ms: s.P50Ms, P99Ms: s.P99Ms}
}

// serviceMapModel makes nodes of the services and of the uninstrumented
// peers their client spans name. A peer's figures are its callers' client
// spans: calls, errors, the worst edge p99 and the calls per second.
func serviceMapModel(svcs []storage.ServiceSummary, edges []storage.ServiceEdge) *model.ServiceMap {
	out := &model.ServiceMap{Nodes: []*model.ServiceSummary{}, Edges: make([]*model.ServiceEdge, len(edges))}
	seen := map[string]bool{}
	seconds := 1.0
	for _, s := range svcs {
		out.Nodes = append(out.Nodes, serviceModel(s))
		seen[s.Name] = true
		seconds = s.Seconds
	}
	peers := map[string]*storage.ServiceSummary{}
	var order []string
	for i, e := range edges {
		out.Edges[i] = &model.ServiceEdge{Source: e.Source, Target: e.Target, Calls: int(e.Calls + 0.5), Errors: int(e.Errors + 0.5),
			ErrorRate: ratio(e.Errors, e.Calls), P99Ms: e.P99Ms}
		if seen[e.Target] {
			continue
		}
		p := peers[e.Target]
		if p == nil {
			p = &storage.ServiceSummary{Name: e.Target, Seconds: seconds}
			peers[e.Target] = p
			order = append(order, e.Target)
		}
		p.SpanCount += e.Calls
		p.ErrorCount += e.Errors
		if e.P99Ms != nil && (p.P99Ms == nil || *e.P99Ms > *p.P99Ms) {
			v := *e.P99Ms
			p.P99Ms = &v
		}
	}
	for _, name := range order {
		n := serviceModel(*peers[name])
		n.External = true
		out.Nodes = append(out.Nodes, n)
	}
	return out
}

package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/inquest/inquest/domain"
)

// Filter is a condition on a field (service, attr.http.route, ...).
type Filter struct {
	Field string    `json:"field"`
	Op    domain.Op `json:"op"`
	// Value is for every operator but in, not in, exists and not exists.
	Value  *string  `json:"value,omitempty"`
	Values []string `json:"values,omitempty"`
}

// Aggregation is one column of an aggregate.
type Aggregation struct {
	Op    domain.AggOp `json:"op"`
	Field *string      `json:"field,omitempty"`
	Alias *string      `json:"alias,omitempty"`
}

// AggregateInput asks for counts, percentiles and rates over events.
type AggregateInput struct {
	Range        Range           `json:"range"`
	Filters      []Filter        `json:"filters,omitempty"`
	GroupBy      []string        `json:"groupBy,omitempty"`
	Aggregations []Aggregation   `json:"aggregations,omitempty"`
	Bucket       string          `json:"bucket,omitempty"`
	OrderBy      []domain.Order  `json:"orderBy,omitempty"`
	Limit        *int            `json:"limit,omitempty"`
	Having       []domain.Having `json:"having,omitempty"`
}

// Filters turns filters into storage filters, refusing bad ones.
func Filters(in []Filter) ([]domain.Filter, error) {
	out := make([]domain.Filter, 0, len(in))
	for _, f := range in {
		fld, err := domain.ParseField(f.Field)
		if err != nil {
			return nil, invalid(err)
		}
		sf := domain.Filter{Field: fld, Op: f.Op, Values: f.Values, Value: deref(f.Value)}
		needsValue := sf.Op != domain.OpExists && sf.Op != domain.OpNotExists && sf.Op != domain.OpIn && sf.Op != domain.OpNotIn
		if needsValue && f.Value == nil {
			return nil, Invalid("filter %s %s: value is required", f.Field, f.Op)
		}
		if err := sf.Validate(); err != nil {
			return nil, invalid(err)
		}
		out = append(out, sf)
	}
	return out, nil
}

func (s *Service) aggregateQuery(tenant string, in AggregateInput) (domain.Query, error) {
	q := domain.Query{Tenant: tenant, Order: in.OrderBy, Having: in.Having}
	var err error
	if q.Range, err = s.timeRange(&in.Range); err != nil {
		return q, err
	}
	if q.Filters, err = Filters(in.Filters); err != nil {
		return q, err
	}
	for _, g := range in.GroupBy {
		f, err := domain.ParseField(g)
		if err != nil {
			return q, invalid(fmt.Errorf("groupBy: %w", err))
		}
		q.GroupBy = append(q.GroupBy, f)
	}
	for _, a := range in.Aggregations {
		agg := domain.Aggregation{Op: a.Op, Alias: deref(a.Alias)}
		if a.Field != nil {
			f, err := domain.ParseField(*a.Field)
			if err != nil {
				return q, invalid(fmt.Errorf("aggregation %s: %w", strings.ToUpper(string(a.Op)), err))
			}
			agg.Field = &f
		}
		q.Aggregations = append(q.Aggregations, agg)
	}
	if in.Bucket != "" {
		d, err := domain.ParseDuration(in.Bucket)
		if err != nil || d <= 0 {
			return q, Invalid("bucket %q: want a duration such as 10s, 1m or 1h", in.Bucket)
		}
		q.Bucket = d
	}
	if in.Limit != nil {
		if *in.Limit < 0 {
			return q, Invalid("limit must not be negative")
		}
		q.Limit = *in.Limit
	}
	if err := q.Validate(); err != nil {
		return q, invalid(err)
	}
	return q, nil
}

// Aggregate is the result of an aggregate with the query it ran, which
// says how to read it (the range, the bucket).
type Aggregate struct {
	Query  domain.Query
	Result *domain.AggregateResult
}

// Aggregate counts, sums and takes percentiles of the tenant's events.
func (s *Service) Aggregate(ctx context.Context, p Principal, in AggregateInput) (*Aggregate, error) {
	release, err := s.scan(ctx, p, "aggregate")
	if err != nil {
		return nil, err
	}
	defer release()
	q, err := s.aggregateQuery(p.Tenant, in)
	if err != nil {
		return nil, err
	}
	res, err := s.d.Events.Aggregate(ctx, q)
	if err != nil {
		return nil, fromStore(err, "")
	}
	return &Aggregate{Query: q, Result: res}, nil
}

// EventsInput asks for one page of raw events, newest first.
type EventsInput struct {
	Range   Range    `json:"range"`
	Filters []Filter `json:"filters,omitempty"`
	First   *int     `json:"first,omitempty"`
	// After is a cursor from an earlier page.
	After *domain.Cursor `json:"-"`
}

// Events lists the tenant's events, one page at a time.
func (s *Service) Events(ctx context.Context, p Principal, in EventsInput) (*domain.EventPage, error) {
	release, err := s.scan(ctx, p, "events")
	if err != nil {
		return nil, err
	}
	defer release()
	q := domain.EventQuery{Tenant: p.Tenant, After: in.After}
	if q.Range, err = s.timeRange(&in.Range); err != nil {
		return nil, err
	}
	if q.Filters, err = Filters(in.Filters); err != nil {
		return nil, err
	}
	if q.Limit, err = pageSize("first", in.First, 50); err != nil {
		return nil, err
	}
	page, err := s.d.Events.Events(ctx, q)
	return page, fromStore(err, "")
}

// Trace returns the spans of a trace in waterfall order, or ErrNotFound.
func (s *Service) Trace(ctx context.Context, p Principal, id string) (*Trace, error) {
	release, err := s.scan(ctx, p, "trace")
	if err != nil {
		return nil, err
	}
	defer release()
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" {
		return nil, Invalid("trace id is required")
	}
	spans, err := s.d.Events.Trace(ctx, p.Tenant, id)
	if err != nil {
		return nil, fromStore(err, named("trace", id))
	}
	return waterfall(id, spans), nil
}

// Traces lists the traces with a span matching every filter in the
// range, newest first, one row each.
func (s *Service) Traces(ctx context.Context, p Principal, r Range, filters []Filter, limit *int) ([]domain.TraceSummary, error) {
	release, err := s.scan(ctx, p, "traces")
	if err != nil {
		return nil, err
	}
	defer release()
	q := domain.TraceQuery{Tenant: p.Tenant}
	if q.Range, err = s.timeRange(&r); err != nil {
		return nil, err
	}
	if q.Filters, err = Filters(filters); err != nil {
		return nil, err
	}
	if q.Limit, err = pageSize("limit", limit, 50); err != nil {
		return nil, err
	}
	out, err := s.d.Events.Traces(ctx, q)
	return out, fromStore(err, "")
}

// Services lists the services seen in the range with their RED figures.
func (s *Service) Services(ctx context.Context, p Principal, r Range) ([]domain.ServiceSummary, error) {
	release, err := s.scan(ctx, p, "services")
	if err != nil {
		return nil, err
	}
	defer release()
	tr, err := s.timeRange(&r)
	if err != nil {
		return nil, err
	}
	svcs, err := s.d.Events.Services(ctx, p.Tenant, tr)
	return svcs, fromStore(err, "")
}

// ServiceMap is the services, the uninstrumented peers they call and the
// caller → callee edges between them.
func (s *Service) ServiceMap(ctx context.Context, p Principal, r Range) (*ServiceMap, error) {
	release, err := s.scan(ctx, p, "serviceMap")
	if err != nil {
		return nil, err
	}
	defer release()
	tr, err := s.timeRange(&r)
	if err != nil {
		return nil, err
	}
	svcs, err := s.d.Events.Services(ctx, p.Tenant, tr)
	if err != nil {
		return nil, fromStore(err, "")
	}
	edges, err := s.d.Events.ServiceMap(ctx, p.Tenant, tr)
	if err != nil {
		return nil, fromStore(err, "")
	}
	return serviceMap(svcs, edges), nil
}

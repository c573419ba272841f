package tools

import (
	"context"
	"strings"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// Aggregation is one computed column.
type Aggregation struct {
	Op    string `json:"op" jsonschema:"count, sum, avg, min, max, p50, p90, p95, p99, rate (per second), count_distinct"`
	Field string `json:"field,omitempty" jsonschema:"the field it reads, such as duration_ms or attr.http.status_code (not for count and rate)"`
}

// AggregateIn is the query builder: filters, group by, aggregations, an
// optional time bucket.
type AggregateIn struct {
	Window
	Filters      []Filter      `json:"filters,omitempty"`
	GroupBy      []string      `json:"group_by,omitempty" jsonschema:"fields to group by, such as service or attr.http.route"`
	Aggregations []Aggregation `json:"aggregations,omitempty" jsonschema:"count when absent"`
	Bucket       string        `json:"bucket,omitempty" jsonschema:"a time bucket such as 1m or 1h, for a series over time"`
	OrderBy      string        `json:"order_by,omitempty" jsonschema:"an aggregation's name such as p99(duration_ms), largest first"`
	Limit        int           `json:"limit,omitempty" jsonschema:"most groups (default 20)"`
}

// AggregateRow is one group (and bucket).
type AggregateRow struct {
	Bucket string              `json:"bucket,omitempty"`
	Group  map[string]string   `json:"group,omitempty"`
	Values map[string]*float64 `json:"values"`
}

// AggregateOut is the table.
type AggregateOut struct {
	Columns []string       `json:"columns"`
	Rows    []AggregateRow `json:"rows"`
	Total   int            `json:"total_rows"`
	Bounds
}

// Trim drops the later half of the rows.
func (o *AggregateOut) Trim() bool {
	if !cut(&o.Rows) {
		return false
	}
	o.cutTo(len(o.Rows), o.Total, "add filters, fewer group_by fields, a lower limit or a larger bucket")
	return true
}

func aggregate() Tool {
	return define(Tool{Name: "aggregate", Op: "aggregate", Budget: 3000,
		Description: "Compute counts, rates and percentiles over events and spans, grouped by fields and optionally bucketed in time — " +
			"the query builder, not SQL. Examples: p99 of duration_ms for service checkout grouped by attr.region; error count by service " +
			"(filter status = error); requests per minute (rate, bucket 1m). Fields: service, name, status, duration_ms, attr.<key>, res.<key>. " +
			"Use list_services first for names; bubble_up to find which attribute values explain a bad group."},
		func(ctx context.Context, env Env, in AggregateIn) (*AggregateOut, error) {
			q := service.AggregateInput{Range: in.rng(), Filters: filtersIn(in.Filters), GroupBy: in.GroupBy, Bucket: in.Bucket}
			for _, a := range in.Aggregations {
				agg := service.Aggregation{Op: domain.AggOp(strings.ToLower(strings.TrimSpace(a.Op)))}
				if a.Field != "" {
					f := a.Field
					agg.Field = &f
				}
				q.Aggregations = append(q.Aggregations, agg)
			}
			if len(q.Aggregations) == 0 {
				q.Aggregations = []service.Aggregation{{Op: domain.AggCount}}
			}
			limit := in.Limit
			if limit <= 0 {
				limit = 20
			}
			if len(in.GroupBy) > 0 {
				q.Limit = &limit
			}
			if in.OrderBy != "" {
				q.OrderBy = []domain.Order{{By: in.OrderBy, Desc: true}}
			}
			res, err := env.Svc.Aggregate(ctx, env.P, q)
			if err != nil {
				return nil, err
			}
			out := &AggregateOut{Columns: append([]string{}, res.Result.Columns...), Rows: []AggregateRow{}, Total: len(res.Result.Rows)}
			for _, r := range res.Result.Rows {
				row := AggregateRow{Bucket: ts(r.Bucket), Values: map[string]*float64{}}
				if len(r.Keys) > 0 {
					row.Group = map[string]string{}
					for i, k := range r.Keys {
						if i < len(res.Result.GroupBy) && k != nil {
							row.Group[res.Result.GroupBy[i]] = *k
						}
					}
				}
				for i, v := range r.Values {
					if i < len(res.Result.Columns) {
						row.Values[res.Result.Columns[i]] = roundp(v)
					}
				}
				out.Rows = append(out.Rows, row)
			}
			if len(out.Rows) > 100 {
				out.Rows = out.Rows[:100]
				out.cutTo(100, out.Total, "add filters or a larger bucket")
			}
			out.Link = exploreLink(env, q)
			return out, nil
		})
}

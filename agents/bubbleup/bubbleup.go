// Package bubbleup is the investigation's BubbleUp step: for a candidate
// service it selects the bad requests of the window (its failures, or its
// requests slower than the baseline's 90th percentile) and asks the store
// which attribute values set them apart — from the same service before
// (what a deploy changed shows there) or, with no baseline, from its other
// requests of the window.
package bubbleup

import (
	"context"
	"fmt"
	"strconv"

	"github.com/inquest/inquest/agents/evidence"
	"github.com/inquest/inquest/domain"
)

// Source is what the step reads.
type Source interface {
	BubbleUp(ctx context.Context, q domain.BubbleUpQuery) (*domain.BubbleUpCounts, error)
	Aggregate(ctx context.Context, q domain.Query) (*domain.AggregateResult, error)
}

// Input says whose requests to look at and which are bad.
type Input struct {
	Tenant           string
	Service          string
	Window, Baseline domain.TimeRange
	// Errors selects failed requests; otherwise slow ones.
	Errors bool
	// Scope narrows both sides further (the investigation's filters).
	Scope []domain.Filter
}

// Finding is an attribute value over-represented among the bad requests.
type Finding struct {
	Field, Value        string
	Selection, Baseline float64 // shares, 0-1
	Score               float64
}

// Text writes the finding as field=value with both shares.
func (f Finding) Text(against string) string {
	return fmt.Sprintf("%s=%s in %.0f%% of them vs %.0f%% of %s", f.Field, f.Value, 100*f.Selection, 100*f.Baseline, against)
}

// Result is the step's answer.
type Result struct {
	Findings []Finding
	// What tells what was selected and what it was compared with.
	What, Against       string
	Selection, Baseline float64 // weighted event counts
	Query               *domain.EvidenceQuery
}

// minScore is the smallest share difference worth telling.
const minScore = 0.2

// Explain runs the step for one service.
func Explain(ctx context.Context, src Source, in Input) (*Result, error) {
	svc := domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: in.Service}
	span := domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "kind"}, Op: domain.OpEq, Value: string(domain.KindSpan)}
	scope := append([]domain.Filter{svc, span}, in.Scope...)
	res := &Result{}
	var selection []domain.Filter
	if in.Errors {
		selection = []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "status"}, Op: domain.OpEq, Value: string(domain.StatusError)}}
		res.What = in.Service + "'s failed requests"
	} else {
		p90, fromBaseline, err := slowAt(ctx, src, in, scope)
		if err != nil || p90 <= 0 {
			return res, err
		}
		selection = []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "duration_ms"}, Op: domain.OpGe,
			Value: strconv.FormatFloat(p90, 'f', 3, 64)}}
		res.What = fmt.Sprintf("%s's requests slower than %.0f ms (the %s p90)", in.Service, p90, map[bool]string{true: "baseline's", false: "window's"}[fromBaseline])
	}
	q := domain.BubbleUpQuery{Tenant: in.Tenant, Range: in.Window, Scope: scope, Selection: selection}
	res.Against = "its other requests of the window"
	if has, err := hasSpans(ctx, src, in.Tenant, in.Baseline, scope); err != nil {
		return nil, err
	} else if has {
		b := in.Baseline
		q.Baseline = &b
		res.Against = "its requests before"
	}
	counts, err := src.BubbleUp(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("bubble-up of %s: %w", in.Service, err)
	}
	ranked := counts.Rank(5, 1)
	res.Selection, res.Baseline = ranked.Selection, ranked.Baseline
	res.Query = evidence.BubbleUp(in.Window, evidence.FromStorage(scope), evidence.FromStorage(selection), q.Baseline)
	for _, f := range ranked.Fields {
		if f.Score < minScore || len(f.Values) == 0 {
			continue
		}
		v := f.Values[0]
		res.Findings = append(res.Findings, Finding{Field: f.Field, Value: v.Value, Selection: v.SelectionShare, Baseline: v.BaselineShare, Score: f.Score})
	}
	return res, nil
}

// slowAt is the duration past which a request is slow: the baseline's
// 90th percentile of the service, or the window's when the baseline has
// none of its spans.
func slowAt(ctx context.Context, src Source, in Input, scope []domain.Filter) (float64, bool, error) {
	for i, r := range []domain.TimeRange{in.Baseline, in.Window} {
		dur := domain.Field{Kind: domain.FieldColumn, Name: "duration_ms"}
		res, err := src.Aggregate(ctx, domain.Query{Tenant: in.Tenant, Range: r, Filters: scope,
			Aggregations: []domain.Aggregation{{Op: domain.AggP90, Field: &dur}, {Op: domain.AggCount}}})
		if err != nil {
			return 0, false, fmt.Errorf("p90 of %s: %w", in.Service, err)
		}
		if len(res.Rows) == 1 && len(res.Rows[0].Values) == 2 && res.Rows[0].Values[0] != nil && res.Rows[0].Values[1] != nil && *res.Rows[0].Values[1] >= 10 {
			return *res.Rows[0].Values[0], i == 0, nil
		}
	}
	return 0, false, nil
}

func hasSpans(ctx context.Context, src Source, tenant string, r domain.TimeRange, scope []domain.Filter) (bool, error) {
	res, err := src.Aggregate(ctx, domain.Query{Tenant: tenant, Range: r, Filters: scope, Aggregations: []domain.Aggregation{{Op: domain.AggCount}}})
	if err != nil {
		return false, fmt.Errorf("spans of the baseline: %w", err)
	}
	return len(res.Rows) == 1 && len(res.Rows[0].Values) == 1 && res.Rows[0].Values[0] != nil && *res.Rows[0].Values[0] >= 10, nil
}

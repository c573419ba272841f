package service

import (
	"context"

	"github.com/inquest/inquest/domain"
)

// BubbleUpInput asks what sets a selection of events apart: Selection
// within Filters in Range against the rest of it, or against everything in
// Filters in the Baseline window.
type BubbleUpInput struct {
	Range     Range    `json:"range"`
	Filters   []Filter `json:"filters,omitempty"`
	Selection []Filter `json:"selection,omitempty"`
	Baseline  *Range   `json:"baseline,omitempty"`
	Limit     *int     `json:"limit,omitempty"`
	Values    *int     `json:"values,omitempty"`
}

// BubbleUp ranks the fields whose values are over-represented in the
// selection; the store does the counting.
func (s *Service) BubbleUp(ctx context.Context, p Principal, in BubbleUpInput) (*domain.BubbleUpResult, error) {
	release, err := s.scan(ctx, p, "bubbleUp")
	if err != nil {
		return nil, err
	}
	defer release()
	q := domain.BubbleUpQuery{Tenant: p.Tenant}
	if q.Range, err = s.timeRange(&in.Range); err != nil {
		return nil, err
	}
	if in.Baseline != nil {
		b, err := s.timeRange(in.Baseline)
		if err != nil {
			return nil, Invalid("baseline %v", err)
		}
		q.Baseline = &b
	}
	if q.Scope, err = Filters(in.Filters); err != nil {
		return nil, err
	}
	if q.Selection, err = Filters(in.Selection); err != nil {
		return nil, err
	}
	limit, err := pageSize("limit", in.Limit, 10)
	if err != nil {
		return nil, err
	}
	values, err := pageSize("values", in.Values, 5)
	if err != nil {
		return nil, err
	}
	counts, err := s.d.Events.BubbleUp(ctx, q)
	if err != nil {
		return nil, fromStore(err, "")
	}
	return counts.Rank(limit, values), nil
}

package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// testBubbleUp: 100 checkout requests in a minute, 20 of them slow; the
// slow ones all went to provider stripe_v3 (which 10 of the 80 fast ones
// did too) on version 2.3.1 with amounts of 512 to 1023 (2 of the fast
// too), and the region is spread alike. BubbleUp of the slow against the
// rest puts the version first (only the slow have it), then the amount's
// range, then the provider; a
// baseline window (the minute before, all fast on stripe) says the same;
// another tenant's events count for nothing.
func testBubbleUp(t *testing.T, s storage.EventStore) {
	ctx := context.Background()
	var evs []domain.Event
	for i := 0; i < 100; i++ {
		slow := i < 20
		provider, version, dur := "stripe", "2.3.0", 40.0
		if slow {
			provider, version, dur = "stripe_v3", "2.3.1", 1800
		} else if i < 30 {
			provider = "stripe_v3"
		}
		region := []string{"eu", "us"}[i%2]
		e := Span("t1", "checkout", "pay", base+int64(i)*1e8, dur, domain.StatusOK,
			"payment_provider", provider, "version", version, "region", region, "request_id", fmt.Sprint("r", i))
		// The slow carried big baskets: numbers count by power-of-two range.
		amount := 8 + float64(i%8)
		if slow {
			amount = 600 + float64(i*7)
		} else if i < 22 {
			amount = 700 // two of the fast too
		}
		e.PutNum("amount", amount)
		e.ID = e.ContentHash()
		evs = append(evs, e)
		// The minute before: all fast, all on stripe 2.3.0.
		evs = append(evs, Span("t1", "checkout", "pay", base-60e9+int64(i)*1e8, 40, domain.StatusOK,
			"payment_provider", "stripe", "version", "2.3.0", "region", region, "request_id", fmt.Sprint("b", i)))
		evs = append(evs, Span("t2", "checkout", "pay", base+int64(i)*1e8, 1800, domain.StatusOK, "payment_provider", "adyen"))
	}
	require.NoError(t, s.WriteEvents(ctx, evs))
	r := domain.TimeRange{Start: base, End: base + 60e9}
	scope := []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: "checkout"}}
	slow := []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "duration_ms"}, Op: domain.OpGt, Value: "1000"}}

	c, err := s.BubbleUp(ctx, domain.BubbleUpQuery{Tenant: "t1", Range: r, Scope: scope, Selection: slow})
	require.NoError(t, err)
	assert.Equal(t, 20.0, c.Selection)
	assert.Equal(t, 80.0, c.Baseline)
	res := c.Rank(10, 3)
	require.GreaterOrEqual(t, len(res.Fields), 2)
	assert.Equal(t, "attr.version", res.Fields[0].Field, "in all the slow and none of the rest: %+v", res.Fields)
	assert.Equal(t, "2.3.1", res.Fields[0].Values[0].Value)
	assert.InDelta(t, 1.0, res.Fields[0].Score, 1e-9)
	require.GreaterOrEqual(t, len(res.Fields), 3)
	assert.Equal(t, "attr.amount", res.Fields[1].Field, "a numeric attribute by its power-of-two range, in 2 of the 80 fast")
	assert.Equal(t, "[512, 1024)", res.Fields[1].Values[0].Value)
	assert.InDelta(t, 1-2.0/80, res.Fields[1].Score, 1e-9)
	assert.Equal(t, "attr.payment_provider", res.Fields[2].Field, "in all the slow and 10 of the fast")
	assert.Equal(t, "stripe_v3", res.Fields[2].Values[0].Value)
	assert.InDelta(t, 1.0, res.Fields[2].Values[0].SelectionShare, 1e-9)
	assert.InDelta(t, 10.0/80, res.Fields[2].Values[0].BaselineShare, 1e-9)
	for _, f := range res.Fields {
		assert.NotEqual(t, "attr.region", f.Field, "spread alike: nothing to say")
		assert.NotEqual(t, "attr.request_id", f.Field, "one request each: below support")
	}

	before := domain.TimeRange{Start: base - 60e9, End: base}
	c, err = s.BubbleUp(ctx, domain.BubbleUpQuery{Tenant: "t1", Range: r, Scope: scope, Selection: slow, Baseline: &before})
	require.NoError(t, err)
	assert.Equal(t, 20.0, c.Selection)
	assert.Equal(t, 100.0, c.Baseline, "the whole scope of the window before")
	res = c.Rank(10, 3)
	require.NotEmpty(t, res.Fields)
	assert.Contains(t, []string{"attr.amount", "attr.version"}, res.Fields[0].Field, "only the slow have them")
	assert.InDelta(t, 1.0, res.Fields[0].Score, 1e-9, "in all of the slow, in none of the baseline")

	// Sampled (one event in k by content hash stands for k): the totals
	// stay exact and what sets the slow apart still comes first.
	defer func(n float64) { domain.BubbleUpSample = n }(domain.BubbleUpSample)
	domain.BubbleUpSample = 10
	c, err = s.BubbleUp(ctx, domain.BubbleUpQuery{Tenant: "t1", Range: r, Scope: scope, Selection: slow})
	require.NoError(t, err)
	assert.Equal(t, 20.0, c.Selection)
	assert.Equal(t, 80.0, c.Baseline)
	res = c.Rank(10, 3)
	require.NotEmpty(t, res.Fields)
	assert.Contains(t, []string{"attr.amount", "attr.version"}, res.Fields[0].Field, "%+v", res.Fields)
	for _, f := range res.Fields {
		for _, v := range f.Values {
			assert.LessOrEqual(t, v.SelectionShare, 1.0, "shares are of what was counted")
			assert.LessOrEqual(t, v.Selection, c.Selection+1e-9)
		}
	}
	domain.BubbleUpSample = 25_000

	c, err = s.BubbleUp(ctx, domain.BubbleUpQuery{Tenant: "t3", Range: r, Scope: scope, Selection: slow})
	require.NoError(t, err)
	assert.Zero(t, c.Selection+c.Baseline, "nothing of another tenant")
	_, err = s.BubbleUp(ctx, domain.BubbleUpQuery{Tenant: "t1", Range: r})
	assert.ErrorIs(t, err, domain.ErrBadQuery, "neither a selection nor a baseline")
}

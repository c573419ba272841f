package domain

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// BubbleUpQuery asks which field values are over-represented in a
// selection of events against a baseline. Scope narrows both (a service,
// say). Without Baseline the baseline is the scope in Range that does not
// match Selection (the fast requests beside the slow ones); with it, the
// whole scope in the Baseline window (the same requests before).
type BubbleUpQuery struct {
	Tenant    string
	Range     TimeRange
	Scope     []Filter
	Selection []Filter
	Baseline  *TimeRange
}

// Validate checks the query.
func (q *BubbleUpQuery) Validate() error {
	if q.Tenant == "" {
		return fmt.Errorf("%w: bubble-up: %w", ErrBadQuery, ErrNoTenant)
	}
	if len(q.Selection) == 0 && q.Baseline == nil {
		return fmt.Errorf("%w: say what is selected (filters) or give a baseline window to compare with", ErrBadQuery)
	}
	for _, fs := range [][]Filter{q.Scope, q.Selection} {
		for _, f := range fs {
			if err := f.Validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// BubbleUpCount is how much of the selection and of the baseline (event
// counts weighted by sample rate) hold Field = Value.
type BubbleUpCount struct {
	Field, Value        string
	Selection, Baseline float64
}

// BubbleUpCounts is what a store computes; Rank turns it into the answer.
// Values are counted over the events a side was sampled to, whose totals
// are Counted*; Selection and Baseline are the sides' exact totals.
type BubbleUpCounts struct {
	Selection, Baseline               float64
	CountedSelection, CountedBaseline float64
	Values                            []BubbleUpCount
}

// BubbleUpSample is about how many events of each side BubbleUp counts
// the values of: past it, one event in k (by content hash) stands for k,
// so that a selection of millions costs what one of tens of thousands
// does. Shares keep a precision of about half a percentage point. (A
// variable for tests.)
var BubbleUpSample = 25_000.0

// SampleRate is the k of a side of n events.
func SampleRate(n float64) int64 {
	if n <= BubbleUpSample {
		return 1
	}
	return int64(n/BubbleUpSample) + 1
}

// BubbleUpMaxValues bounds the (field, value) pairs a store returns, the
// most frequent in the selection first: a high-cardinality field (a
// request id) spreads its share over many values and ranks low anyway.
const BubbleUpMaxValues = 5000

// BubbleUpValue is one value of a field, as shares of each side.
type BubbleUpValue struct {
	Value                         string
	Selection, Baseline           float64 // counts
	SelectionShare, BaselineShare float64 // of the side's total
}

// BubbleUpField is one field with its most over-represented values first;
// Score is the largest difference of share (selection − baseline) among
// them, 0 to 1.
type BubbleUpField struct {
	Field  string
	Score  float64
	Values []BubbleUpValue
}

// BubbleUpResult is the ranked answer.
type BubbleUpResult struct {
	Selection, Baseline float64
	Fields              []BubbleUpField
}

// minSupport is the fewest selected events a value needs to rank: one
// odd request is not a pattern.
const minSupport = 2

// BucketBias offsets the power of two a numeric attribute's bucket is
// named by in a store's counts ("num.<key>" rows, the value sign ×
// (floor(log2 |x|) + BucketBias), 0 for zero): positive for any finite
// number, and the sign tells negatives apart.
const BucketBias = "1100"

// bucketed turns the stores' "num.<key>" rows into "attr.<key>" rows of
// power-of-two ranges, in place of the exact values of those numeric
// attributes (which every numeric attribute also has as a string, and
// which rank nothing when there are many).
func (c *BubbleUpCounts) bucketed() []BubbleUpCount {
	numeric := map[string]bool{}
	for _, v := range c.Values {
		if len(v.Field) > 4 && v.Field[:4] == "num." {
			numeric["attr."+v.Field[4:]] = true
		}
	}
	out := make([]BubbleUpCount, 0, len(c.Values))
	for _, v := range c.Values {
		switch {
		case numeric[v.Field]:
			continue
		case len(v.Field) > 4 && v.Field[:4] == "num.":
			v.Field, v.Value = "attr."+v.Field[4:], bucketLabel(v.Value)
		}
		out = append(out, v)
	}
	return out
}

// bucketLabel names the range of a bucket code: [64, 128), (-128, -64], 0.
func bucketLabel(code string) string {
	n, err := strconv.ParseInt(code, 10, 64)
	if err != nil || n == 0 {
		return "0"
	}
	bias, _ := strconv.ParseInt(BucketBias, 10, 64)
	neg := n < 0
	if neg {
		n = -n
	}
	lo := math.Ldexp(1, int(n-bias))
	if neg {
		return fmt.Sprintf("(-%s, -%s]", FormatNumber(2*lo), FormatNumber(lo))
	}
	return fmt.Sprintf("[%s, %s)", FormatNumber(lo), FormatNumber(2*lo))
}

// Rank orders the fields by how much their most over-represented value
// stands out — the difference between its share of the selection and of
// the baseline — and keeps perField values of each (the over-represented
// first, then the rest by selection share), at most limit fields.
func (c *BubbleUpCounts) Rank(limit, perField int) *BubbleUpResult {
	res := &BubbleUpResult{Selection: c.Selection, Baseline: c.Baseline}
	byField := map[string][]BubbleUpValue{}
	for _, v := range c.bucketed() {
		if v.Selection < minSupport && v.Selection < c.CountedSelection {
			continue
		}
		// Shares are of what was counted; counts are those shares of the
		// exact totals.
		ss, bs := share(v.Selection, c.CountedSelection), share(v.Baseline, c.CountedBaseline)
		byField[v.Field] = append(byField[v.Field], BubbleUpValue{Value: v.Value, Selection: ss * c.Selection,
			Baseline: bs * c.Baseline, SelectionShare: ss, BaselineShare: bs})
	}
	for field, vs := range byField {
		sort.Slice(vs, func(i, j int) bool {
			di, dj := vs[i].SelectionShare-vs[i].BaselineShare, vs[j].SelectionShare-vs[j].BaselineShare
			if di != dj {
				return di > dj
			}
			return vs[i].Value < vs[j].Value
		})
		score := vs[0].SelectionShare - vs[0].BaselineShare
		if score <= 0 {
			continue // nothing about this field sets the selection apart
		}
		res.Fields = append(res.Fields, BubbleUpField{Field: field, Score: score, Values: vs[:min(perField, len(vs))]})
	}
	sort.Slice(res.Fields, func(i, j int) bool {
		if res.Fields[i].Score != res.Fields[j].Score {
			return res.Fields[i].Score > res.Fields[j].Score
		}
		return res.Fields[i].Field < res.Fields[j].Field
	})
	if len(res.Fields) > limit {
		res.Fields = res.Fields[:limit]
	}
	return res
}

func share(n, total float64) float64 {
	if total <= 0 {
		return 0
	}
	return n / total
}

package storage

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/inquest/inquest/domain"
)

// The service map is kept per minute as spans are written: every write
// marks the minutes it touched, and a folder (EdgeFolder) recomputes each
// marked minute's caller → callee edges once its writes have settled. A
// map over days then sums a few rows a minute instead of joining every span
// to its parent, while minutes still marked (the last one or two, or an
// import under way) are joined live, so that the map is never stale.

// EdgeMinute is the width of a folded slot.
const EdgeMinute = int64(time.Minute)

// EdgeHour is the width of the coarser level: an hour's rows are the sum
// of its minutes', recomputed whenever one of them is folded, so that a
// map over days reads a few rows an hour even where a minute holds few
// calls (and so nearly a row a call).
const EdgeHour = int64(time.Hour)

// EdgeGamma is the ratio between the bounds of two neighbouring duration
// buckets (2^(1/8)): a p99 read from the buckets is within ±4.5 % of the
// exact one.
const EdgeGamma = 1.0905077326652577

// EdgeParentLookback is how far before a child's minute its parent is
// looked for: a parent starts before its children, and a child whose
// parent began more than this earlier counts no edge.
const EdgeParentLookback = EdgeMinute

// EdgeFolder folds the minutes marked by writes into per-minute edges.
type EdgeFolder interface {
	// FoldEdges folds marked minutes whose last write was before settled
	// (Unix ns), oldest first, at most MaxFoldMinutes of them, and returns
	// how many it folded (a backlog takes several calls).
	FoldEdges(ctx context.Context, settled int64) (int, error)
}

// MaxFoldMinutes bounds one fold (a day of minutes), so that a backlog —
// an upgrade marking a year of spans, a large import — is folded in steps
// rather than in one transaction holding all of it.
const MaxFoldMinutes = 1440

// EdgeRow is a part of one edge: its calls whose duration falls in one
// bucket, with their errors (weighted by sample rate).
type EdgeRow struct {
	Source, Target string
	Bucket         int
	Calls, Errors  float64
}

// EdgeBucket is the bucket of a duration, as the SQL of both stores
// computes it: floor(ln(max(ns, 1)) / ln(EdgeGamma)).
func EdgeBucket(ns int64) int {
	return int(math.Floor(math.Log(float64(max(ns, 1))) / math.Log(EdgeGamma)))
}

// edgeBucketMs is a bucket's representative duration in milliseconds: its
// middle on the log scale.
func edgeBucketMs(b int) float64 {
	return math.Pow(EdgeGamma, float64(b)+0.5) / 1e6
}

// MergeEdges sums the parts of each edge (from folded minutes and from
// minutes joined live) into the map, sorted by source then target, with
// the p99 of the calls' durations read from the buckets.
func MergeEdges(rows []EdgeRow) []domain.ServiceEdge {
	type key struct{ src, dst string }
	type acc struct {
		calls, errors float64
		buckets       map[int]float64
	}
	by := map[key]*acc{}
	for _, r := range rows {
		k := key{r.Source, r.Target}
		a := by[k]
		if a == nil {
			a = &acc{buckets: map[int]float64{}}
			by[k] = a
		}
		a.calls += r.Calls
		a.errors += r.Errors
		a.buckets[r.Bucket] += r.Calls
	}
	out := make([]domain.ServiceEdge, 0, len(by))
	for k, a := range by {
		e := domain.ServiceEdge{Source: k.src, Target: k.dst, Calls: a.calls, Errors: a.errors}
		if a.calls > 0 {
			p := edgeQuantile(a.buckets, a.calls, 0.99)
			e.P99Ms = &p
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Target < out[j].Target
	})
	return out
}

// edgeQuantile is the bucket holding the q-th of the weighted calls.
func edgeQuantile(buckets map[int]float64, total, q float64) float64 {
	keys := make([]int, 0, len(buckets))
	for b := range buckets {
		keys = append(keys, b)
	}
	sort.Ints(keys)
	rank, seen := q*total, 0.0
	for _, b := range keys {
		seen += buckets[b]
		if seen >= rank {
			return edgeBucketMs(b)
		}
	}
	return edgeBucketMs(keys[len(keys)-1])
}

// EdgeExactUpTo is the longest range whose partial first and last minutes
// are joined live; a longer one is read at whole minutes, widened to the
// minutes its ends fall in (at most a minute more on either side, which
// no one reads off a map of more than an hour, and a live join of a
// partial minute costs a scan of its day in ClickHouse).
const EdgeExactUpTo = int64(time.Hour)

// EdgeMinutes splits a range into the minutes wholly inside it that are
// folded (not marked), to be read from the per-minute edges, and the
// ranges to join live: the partial minutes at either end (of a range up
// to EdgeExactUpTo) and the marked ones. marked is sorted.
func EdgeMinutes(r domain.TimeRange, marked []int64) (folded []domain.TimeRange, live []domain.TimeRange) {
	if r.End <= r.Start {
		return nil, nil
	}
	if r.End-r.Start > EdgeExactUpTo {
		r = domain.TimeRange{Start: r.Start / EdgeMinute * EdgeMinute, End: ceilMinute(r.End)}
	}
	first := ceilMinute(r.Start)
	last := r.End / EdgeMinute * EdgeMinute // end of the whole minutes
	if first >= last {
		return nil, []domain.TimeRange{r}
	}
	add := func(list []domain.TimeRange, s, e int64) []domain.TimeRange {
		if e <= s {
			return list
		}
		if n := len(list); n > 0 && list[n-1].End == s {
			list[n-1].End = e
			return list
		}
		return append(list, domain.TimeRange{Start: s, End: e})
	}
	live = add(live, r.Start, first)
	at := first
	for _, m := range marked {
		if m < first || m >= last {
			continue
		}
		folded = add(folded, at, m)
		live = add(live, m, m+EdgeMinute)
		at = m + EdgeMinute
	}
	folded = add(folded, at, last)
	live = add(live, last, r.End)
	return folded, live
}

func ceilMinute(ns int64) int64 {
	m := ns / EdgeMinute * EdgeMinute
	if m < ns {
		m += EdgeMinute
	}
	return m
}

// TouchedMinutes are the minutes a batch of spans marks: each span's own,
// the next (its children may start there and look back for it) and the
// one before (a child whose clock runs ahead of its parent's may sit
// there).
func TouchedMinutes(events []domain.Event) map[string]map[int64]bool {
	out := map[string]map[int64]bool{}
	for i := range events {
		e := &events[i]
		if e.Kind != domain.KindSpan || e.TraceID == "" {
			continue
		}
		m := e.TimeUnixNano / EdgeMinute * EdgeMinute
		t := out[e.Tenant]
		if t == nil {
			t = map[int64]bool{}
			out[e.Tenant] = t
		}
		t[m-EdgeMinute], t[m], t[m+EdgeMinute] = true, true, true
	}
	return out
}

// MinuteMark is a tenant's minute to fold.
type MinuteMark struct {
	Tenant string
	Minute int64
}

// MinuteRun is a tenant's run of consecutive minutes, folded with one
// join.
type MinuteRun struct {
	Tenant  string
	Start   int64
	Minutes int
}

// maxRunMinutes bounds the spans one fold's join holds.
const maxRunMinutes = 60

// MinuteRuns groups marks sorted by tenant then minute into runs.
func MinuteRuns(marks []MinuteMark) []MinuteRun {
	var out []MinuteRun
	for _, m := range marks {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Tenant == m.Tenant && last.Start+int64(last.Minutes)*EdgeMinute == m.Minute && last.Minutes < maxRunMinutes {
				last.Minutes++
				continue
			}
		}
		out = append(out, MinuteRun{Tenant: m.Tenant, Start: m.Minute, Minutes: 1})
	}
	return out
}

// EdgeHours splits folded ranges (minute-aligned) into the whole hours in
// them, read from the hourly rows, and the rest, read from the minutes'.
func EdgeHours(folded []domain.TimeRange) (hours, minutes []domain.TimeRange) {
	for _, r := range folded {
		first := (r.Start + EdgeHour - 1) / EdgeHour * EdgeHour
		last := r.End / EdgeHour * EdgeHour
		if first >= last {
			minutes = append(minutes, r)
			continue
		}
		if r.Start < first {
			minutes = append(minutes, domain.TimeRange{Start: r.Start, End: first})
		}
		hours = append(hours, domain.TimeRange{Start: first, End: last})
		if last < r.End {
			minutes = append(minutes, domain.TimeRange{Start: last, End: r.End})
		}
	}
	return hours, minutes
}

// HoursOf are the hours a run of minutes falls in.
func (r MinuteRun) HoursOf() []int64 {
	var out []int64
	end := r.Start + int64(r.Minutes)*EdgeMinute
	for h := r.Start / EdgeHour * EdgeHour; h < end; h += EdgeHour {
		out = append(out, h)
	}
	return out
}

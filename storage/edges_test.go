package storage

import (
	"testing"

	"github.com/inquest/inquest/domain"
	"github.com/stretchr/testify/assert"
)

func TestEdgeMinutes(t *testing.T) {
	m := EdgeMinute
	base := 100 * m
	r := domain.TimeRange{Start: base + m/2, End: base + 5*m + m/4}
	folded, live := EdgeMinutes(r, []int64{base + 2*m, base + 3*m, base + 9*m})
	assert.Equal(t, []domain.TimeRange{{Start: base + m, End: base + 2*m}, {Start: base + 4*m, End: base + 5*m}}, folded)
	assert.Equal(t, []domain.TimeRange{{Start: r.Start, End: base + m}, {Start: base + 2*m, End: base + 4*m}, {Start: base + 5*m, End: r.End}}, live)

	folded, live = EdgeMinutes(domain.TimeRange{Start: base + 10, End: base + 20}, nil)
	assert.Empty(t, folded, "inside one minute")
	assert.Equal(t, []domain.TimeRange{{Start: base + 10, End: base + 20}}, live)

	folded, live = EdgeMinutes(domain.TimeRange{Start: base, End: base + 3*m}, []int64{base + 2*m})
	assert.Equal(t, []domain.TimeRange{{Start: base, End: base + 2*m}}, folded, "aligned ends need no live join")
	assert.Equal(t, []domain.TimeRange{{Start: base + 2*m, End: base + 3*m}}, live)

	// Past an hour, the ends widen to whole minutes.
	folded, live = EdgeMinutes(domain.TimeRange{Start: base + m/2, End: base + 90*m + m/3}, []int64{base + 90*m})
	assert.Equal(t, []domain.TimeRange{{Start: base, End: base + 90*m}}, folded)
	assert.Equal(t, []domain.TimeRange{{Start: base + 90*m, End: base + 91*m}}, live)

	folded, live = EdgeMinutes(domain.TimeRange{Start: base, End: base}, nil)
	assert.Empty(t, folded)
	assert.Empty(t, live)
}

func TestMinuteRuns(t *testing.T) {
	m := EdgeMinute
	runs := MinuteRuns([]MinuteMark{{"a", m}, {"a", 2 * m}, {"a", 4 * m}, {"b", 5 * m}, {"b", 6 * m}})
	assert.Equal(t, []MinuteRun{{"a", m, 2}, {"a", 4 * m, 1}, {"b", 5 * m, 2}}, runs)
	var long []MinuteMark
	for i := 0; i < 130; i++ {
		long = append(long, MinuteMark{"a", int64(i) * m})
	}
	assert.Equal(t, []MinuteRun{{"a", 0, 60}, {"a", 60 * m, 60}, {"a", 120 * m, 10}}, MinuteRuns(long))
}

func TestMergeEdges(t *testing.T) {
	rows := []EdgeRow{{"b", "c", EdgeBucket(5e6), 1, 0}, {"a", "b", EdgeBucket(1e6), 98, 1}, {"a", "b", EdgeBucket(100e6), 2, 1}}
	got := MergeEdges(rows)
	assert.Len(t, got, 2)
	assert.Equal(t, "a", got[0].Source)
	assert.Equal(t, 100.0, got[0].Calls)
	assert.Equal(t, 2.0, got[0].Errors)
	assert.InEpsilon(t, 100.0, *got[0].P99Ms, 0.05, "the 99th of 100 calls is one of the two slow ones")
	assert.InEpsilon(t, 5.0, *got[1].P99Ms, 0.05)
}

func TestEdgeHours(t *testing.T) {
	h, m := EdgeHour, EdgeMinute
	hours, minutes := EdgeHours([]domain.TimeRange{{Start: 10*h - 5*m, End: 13*h + 2*m}, {Start: 20*h + m, End: 20*h + 9*m}})
	assert.Equal(t, []domain.TimeRange{{Start: 10 * h, End: 13 * h}}, hours)
	assert.Equal(t, []domain.TimeRange{{Start: 10*h - 5*m, End: 10 * h}, {Start: 13 * h, End: 13*h + 2*m}, {Start: 20*h + m, End: 20*h + 9*m}}, minutes)
	assert.Equal(t, []int64{0, h}, MinuteRun{"a", h - 2*m, 3}.HoursOf())
	assert.Equal(t, []int64{h}, MinuteRun{"a", h, 60}.HoursOf())
}

func TestTouchedMinutes(t *testing.T) {
	m := EdgeMinute
	got := TouchedMinutes([]domain.Event{
		{Tenant: "a", Kind: domain.KindSpan, TraceID: "t", TimeUnixNano: 10*m + 5},
		{Tenant: "a", Kind: domain.KindLog, TraceID: "t", TimeUnixNano: 50 * m}, // a log has no edge
		{Tenant: "b", Kind: domain.KindSpan, TimeUnixNano: 70 * m},              // nor a span outside a trace
	})
	assert.Equal(t, map[string]map[int64]bool{"a": {9 * m: true, 10 * m: true, 11 * m: true}}, got)
}

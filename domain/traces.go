package domain

import "time"

// TraceQuery asks for the traces that have a span matching every filter
// in the range, newest first: a trace list, where a span search would
// show one row per span of the same trace.
type TraceQuery struct {
	Tenant  string
	Range   TimeRange
	Filters []Filter
	Limit   int
}

// TraceSlack is how far beyond the range a listed trace's spans are read
// for its summary, so that a trace that began a little before the range
// (or ends a little after it) is summed up whole.
const TraceSlack = time.Minute

// Validate checks the query and fills in the default size (50).
func (q *TraceQuery) Validate() error {
	eq := EventQuery{Tenant: q.Tenant, Range: q.Range, Filters: q.Filters, Limit: q.Limit}
	if q.Limit <= 0 {
		eq.Limit = 50
	}
	if err := eq.Validate(); err != nil {
		return err
	}
	q.Limit = eq.Limit
	return nil
}

// TraceSummary is one trace of a list: what a person picks a trace by.
type TraceSummary struct {
	TraceID      string
	StartNano    int64
	DurationNano int64
	// Services are those with spans in it, sorted.
	Services []string
	Spans    int
	Errors   int
	// RootService and RootName are of its root span (the first span with
	// no parent), or of its first span when the root was not sent.
	RootService, RootName string
}

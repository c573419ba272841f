package domain

// SpanStats is how a service's own spans behaved in a window, apart from
// what its callees did: the figures the dependency tracer compares, so
// that a service slowed by a slow dependency is not blamed for it.
//
// A span whose children are all in one other service is a call across the
// network (a client span, or a wrapper around calls to one service): its
// time beyond the callee's spans is network and queueing on the way to and
// from the callee, and counts to the callee (Hops, GapNanos), not to the
// caller's own work.
//
// A store answers a row per service for its own spans (Caller empty) and
// a row per caller for the hops into it; Merge sums them per service.
type SpanStats struct {
	Service string
	Caller  string
	// Spans and Errors are the service's spans (client hops left out),
	// weighted by sample rate.
	Spans, Errors float64
	// OwnErrors failed with no failed child: errors that began here. A
	// failed call whose callee's span did not fail counts to the callee.
	OwnErrors float64
	// SelfNanos sums, over Spans, each span's duration less its children's
	// (weighted).
	SelfNanos float64
	// Hops counts the calls into this service seen from the callers' side
	// and GapNanos sums their time beyond this service's spans (weighted).
	Hops, GapNanos float64
	// FirstNano and LastNano bound the service's spans in the window: what
	// a rate divides by, when data covers only part of it.
	FirstNano, LastNano int64
}

// SelfMs is the mean self time of the service's spans, in milliseconds.
func (s SpanStats) SelfMs() float64 {
	if s.Spans == 0 {
		return 0
	}
	return s.SelfNanos / s.Spans / 1e6
}

// GapMs is the mean time a call into the service spent outside it.
func (s SpanStats) GapMs() float64 {
	if s.Hops == 0 {
		return 0
	}
	return s.GapNanos / s.Hops / 1e6
}

// Merge sums rows per service (callers' rows into their callee's), in the
// order services first appear.
func Merge(rows []SpanStats) []SpanStats {
	at := map[string]int{}
	var out []SpanStats
	for _, r := range rows {
		i, ok := at[r.Service]
		if !ok {
			at[r.Service] = len(out)
			r.Caller = ""
			out = append(out, r)
			continue
		}
		m := &out[i]
		m.Spans += r.Spans
		m.Errors += r.Errors
		m.OwnErrors += r.OwnErrors
		m.SelfNanos += r.SelfNanos
		m.Hops += r.Hops
		m.GapNanos += r.GapNanos
		if r.FirstNano != 0 && (m.FirstNano == 0 || r.FirstNano < m.FirstNano) {
			m.FirstNano = r.FirstNano
		}
		m.LastNano = max(m.LastNano, r.LastNano)
	}
	return out
}

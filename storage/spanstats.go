package storage

// SpanStats is how a service's own spans behaved in a window, apart from
// what its callees did: the figures the dependency tracer compares, so
// that a service slowed by a slow dependency is not blamed for it.
//
// A span with exactly one child, in another service, is a call across the
// network (a client span): its time beyond the callee's span is network
// and queueing on the way to and from the callee, and counts to the callee
// (Hops, GapNanos), not to the caller's own work.
type SpanStats struct {
	Service string
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

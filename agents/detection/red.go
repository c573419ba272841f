package detection

import (
	"github.com/inquest/inquest/agents/signals"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/inquest/inquest/domain"
)

// redKey names the RED series of a service (operation "") or of one of its
// operations.
type redKey struct {
	tenant, service, operation string
}

// redStep accumulates one step's spans of one key.
type redStep struct {
	count, errors float64 // weighted by sample rate
	durations     []float32
	seen          int // spans offered to the reservoir
	// Set when the step was read from the store (poll mode) rather than
	// built from spans.
	storedP99 float64
	fromStore bool
	// firstErr is the time of the step's first failed span and slowest its
	// slowest spans with their times: an anomaly opens at its first bad
	// point, not at its step's start.
	firstErr int64
	slowest  [8]timedSpan
}

type timedSpan struct {
	at int64
	ms float32
}

// onset is when the step's first point past the band came: the first
// failure for an error ratio, the first span slower than upper (ms) for a
// p99, the step's start when neither is known.
func (s *redStep) onset(signal string, start int64, upper float64) int64 {
	at := int64(0)
	switch signal {
	case SignalErrorRatio:
		at = s.firstErr
	case SignalP99:
		for _, sp := range s.slowest {
			if sp.at != 0 && float64(sp.ms) > upper && (at == 0 || sp.at < at) {
				at = sp.at
			}
		}
	}
	if at < start {
		return start
	}
	return at
}

// spans is how many spans the step has a duration for.
func (s *redStep) spans() int {
	if s.fromStore {
		return s.seen
	}
	return len(s.durations)
}

// reservoirSize bounds the durations kept a step and key; the p99 of a
// busier step is taken over a uniform sample of them.
const reservoirSize = 1024

func (s *redStep) add(e *domain.Event, rng *rand.Rand) {
	w := e.SampleRate
	if w <= 0 {
		w = 1
	}
	s.count += w
	if e.Status == domain.StatusError {
		s.errors += w
		if s.firstErr == 0 || e.TimeUnixNano < s.firstErr {
			s.firstErr = e.TimeUnixNano
		}
	}
	d := float32(float64(e.DurationNano) / 1e6)
	if i := slowestIndex(&s.slowest); d > s.slowest[i].ms || s.slowest[i].at == 0 {
		s.slowest[i] = timedSpan{e.TimeUnixNano, d}
	}
	s.seen++
	if len(s.durations) < reservoirSize {
		s.durations = append(s.durations, d)
	} else if j := rng.IntN(s.seen); j < reservoirSize {
		s.durations[j] = d
	}
}

// slowestIndex is the place of the fastest of the kept slowest spans (an
// empty place first).
func slowestIndex(ss *[8]timedSpan) int {
	min := 0
	for i := range ss {
		if ss[i].at == 0 {
			return i
		}
		if ss[i].ms < ss[min].ms {
			min = i
		}
	}
	return min
}

// p99 of the step's durations in milliseconds, interpolated linearly.
func (s *redStep) p99() float64 {
	if s.fromStore {
		return s.storedP99
	}
	d := s.durations
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	pos := 0.99 * float64(len(d)-1)
	lo := int(pos)
	if lo+1 >= len(d) {
		return float64(d[len(d)-1])
	}
	frac := pos - float64(lo)
	return float64(d[lo]) + frac*(float64(d[lo+1])-float64(d[lo]))
}

// Signals of a RED key (package signals names and formats them).
const (
	SignalRate       = signals.Rate
	SignalErrorRatio = signals.ErrorRatio
	SignalP99        = signals.P99
	SignalValue      = signals.Value
	SignalVector     = signals.Vector
)

// metricKey names a watched metric series.
type metricKey struct {
	tenant string
	id     uint64
}

type metricStep struct {
	name, service, labels string
	counter               bool
	last                  float64
	lastT                 int64
	// endT is the time of a staleness marker in the step, if any.
	endT int64
}

// metricLabel renders name{k=v,...} for people.
func metricLabel(m *domain.Sample) string {
	var sb strings.Builder
	sb.WriteString(m.Name)
	if len(m.Labels.Keys) > 0 {
		sb.WriteByte('{')
		for i, k := range m.Labels.Keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(k + "=" + m.Labels.Values[i])
		}
		sb.WriteByte('}')
	}
	return sb.String()
}

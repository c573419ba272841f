package ingest

import (
	"fmt"
	"math"
	"time"

	"github.com/inquest/inquest/domain"
)

// Limits is what validation checks records against.
type Limits struct {
	// MaxFuture is how far ahead of the server clock a timestamp may be.
	MaxFuture time.Duration
	// MaxAge is the retention: older records are refused on live ingest.
	MaxAge time.Duration
	// MaxBodyBytes truncates longer log bodies rather than refusing them.
	MaxBodyBytes int
}

// Historical marks an import: old timestamps are kept, the freshness check
// is for live ingest only.
type Historical bool

// SourceImport is the source of an import's records and dead letters, whose
// replay keeps history as the import did.
const SourceImport = "import"

// checkTime applies the time rules shared by events and samples.
func (l Limits) checkTime(ts int64, now time.Time, historical Historical) error {
	if ts <= 0 {
		return fmt.Errorf("missing timestamp")
	}
	if ts > now.Add(l.MaxFuture).UnixNano() {
		return fmt.Errorf("timestamp %s is more than %s in the future", time.Unix(0, ts).UTC().Format(time.RFC3339), l.MaxFuture)
	}
	if !historical && l.MaxAge > 0 && ts < now.Add(-l.MaxAge).UnixNano() {
		return fmt.Errorf("timestamp %s is older than the retention of %s", time.Unix(0, ts).UTC().Format(time.RFC3339), l.MaxAge)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// ValidateEvent checks one event and normalises what it safely can.
func (l Limits) ValidateEvent(e *domain.Event, now time.Time, historical Historical) error {
	if err := l.checkTime(e.TimeUnixNano, now, historical); err != nil {
		return err
	}
	if !e.Kind.Valid() {
		return fmt.Errorf("kind %q: want span, log or event", e.Kind)
	}
	if e.Service == "" {
		return fmt.Errorf("missing service")
	}
	if e.Name == "" {
		return fmt.Errorf("missing name")
	}
	switch e.Status {
	case domain.StatusOK, domain.StatusError, domain.StatusUnset:
	case "":
		e.Status = domain.StatusUnset
	default:
		return fmt.Errorf("status %q: want ok, error or unset", e.Status)
	}
	if e.Kind == domain.KindSpan && (e.TraceID == "" || e.SpanID == "") {
		return fmt.Errorf("span without trace_id or span_id")
	}
	if e.DurationNano < 0 {
		return fmt.Errorf("%s ends before it starts (duration %s)", e.Kind, time.Duration(e.DurationNano))
	}
	if e.SampleRate == 0 {
		e.SampleRate = 1
	}
	if !finite(e.SampleRate) || e.SampleRate < 1 {
		return fmt.Errorf("sample_rate %v: want a finite number >= 1", e.SampleRate)
	}
	for i, v := range e.NumAttrs.Values {
		if !finite(v) {
			return fmt.Errorf("attribute %q: %v is not a finite number", e.NumAttrs.Keys[i], v)
		}
	}
	if l.MaxBodyBytes > 0 && len(e.Body) > l.MaxBodyBytes {
		e.Body = e.Body[:l.MaxBodyBytes]
	}
	return nil
}

// ValidateSample checks one metric sample. NaN and ±Inf are values in
// Prometheus (a summary quantile with no observations is NaN, the staleness
// marker is a NaN) and are stored; queries skip them.
func (l Limits) ValidateSample(s *domain.Sample, now time.Time, historical Historical) error {
	if s.Name == "" {
		return fmt.Errorf("missing metric name")
	}
	if err := l.checkTime(s.TimeUnixNano, now, historical); err != nil {
		return fmt.Errorf("metric %s: %w", s.Name, err)
	}
	return nil
}

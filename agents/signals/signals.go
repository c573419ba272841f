// Package signals names what a watched series measures and writes its
// values for people, the same way in anomaly explanations and incident
// titles.
package signals

import "fmt"

// Signals of a series.
const (
	Rate       = "rate"        // requests per second, or a counter's rate
	ErrorRatio = "error_ratio" // failed requests over all requests
	P99        = "p99_ms"      // the 99th percentile of span durations
	Value      = "value"       // a gauge's value
	Vector     = "red_vector"  // a service's rate, error ratio and p99 at once
	// SLOBurn is how many times faster than it can afford an SLO's error
	// budget burns (an SLO rule's series).
	SLOBurn = "slo_burn"
)

var names = map[string]string{Rate: "request rate", ErrorRatio: "error ratio", P99: "p99 latency",
	Value: "value", Vector: "rate, errors and p99 together", SLOBurn: "error budget burn"}

// Name is what people call a signal ("p99 latency").
func Name(signal string) string { return names[signal] }

// Objective writes an SLO's objective for people: 0.999 is "99.9%".
func Objective(o float64) string { return fmt.Sprintf("%.4g%%", o*100) }

// Format writes a value of a signal for people: 1.74 s, 7.7%, 20/s.
func Format(signal string, v float64) string {
	switch signal {
	case ErrorRatio:
		return fmt.Sprintf("%.1f%%", v*100)
	case P99:
		if v >= 1000 {
			return fmt.Sprintf("%.2f s", v/1000)
		}
		return fmt.Sprintf("%.0f ms", v)
	case Rate:
		return fmt.Sprintf("%.3g/s", v)
	case SLOBurn:
		return fmt.Sprintf("%.3g×", v)
	}
	return fmt.Sprintf("%.4g", v)
}

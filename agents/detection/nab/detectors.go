package nab

import (
	"math"
	"math/rand/v2"

	"github.com/inquest/inquest/agents/detection"
)

// EndAfter is how many points back inside the band end an anomaly, as
// the engine's default: alerts are the points where anomalies open.
var EndAfter = detection.DefaultEngineConfig().EndAfter

// episodes turns a detector's per-point verdicts into alerts: the points
// where an anomaly opens, as the engine raises them.
func episodes(anomalous func(t int64, v float64) bool) func(int64, float64) bool {
	var ep detection.Episode
	return func(t int64, v float64) bool {
		opened, _ := ep.Step(anomalous(t, v), EndAfter)
		return opened
	}
}

// Detectors is the full univariate detector set with cfg, as every
// watched series runs it.
func Detectors(cfg detection.Config) Alerter {
	return func() func(int64, float64) bool {
		s := detection.NewSeries(cfg, nil)
		return episodes(func(t int64, v float64) bool { return s.Observe(&cfg, t, v).Anomalous })
	}
}

// ThreeSigma is the plain baseline: a point more than 3 standard
// deviations from the mean of the last window points is anomalous; its
// alerts are where such anomalies open, as for the detectors.
func ThreeSigma(window, warmup int) Alerter {
	return func() func(int64, float64) bool {
		ring := make([]float64, 0, window)
		next := 0
		return episodes(func(_ int64, v float64) bool {
			if math.IsNaN(v) {
				return false
			}
			anomalous := false
			if len(ring) >= warmup {
				var sum, sq float64
				for _, x := range ring {
					sum += x
				}
				mean := sum / float64(len(ring))
				for _, x := range ring {
					sq += (x - mean) * (x - mean)
				}
				std := math.Sqrt(sq / float64(len(ring)))
				anomalous = std > 0 && math.Abs(v-mean) > 3*std
			}
			if len(ring) < window {
				ring = append(ring, v)
			} else {
				ring[next] = v
				next = (next + 1) % window
			}
			return anomalous
		})
	}
}

// Never raises no alert: the NAB score's 0.
func Never() Alerter {
	return func() func(int64, float64) bool { return func(int64, float64) bool { return false } }
}

// Always raises an alert at every point: any measure it wins is broken.
func Always() Alerter {
	return func() func(int64, float64) bool { return func(int64, float64) bool { return true } }
}

// Random raises an alert at each point with probability rate, from a
// fixed seed so that tables repeat.
func Random(rate float64, seed uint64) Alerter {
	return func() func(int64, float64) bool {
		r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
		seed++ // each file its own stream
		return func(int64, float64) bool { return r.Float64() < rate }
	}
}

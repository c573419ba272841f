package signals

import (
	"math"
	"sort"
)

// Rise is how strongly a value that went from before to now says
// "something changed here", from 0 (no rise) to 1. floor keeps tiny values
// from making huge ratios (0.1 ms to 0.4 ms is no fault): both sides are
// raised by it. A rise of a fifth is nothing; twice is about half; five
// times is 0.86.
func Rise(now, before, floor float64) float64 {
	if now <= before || math.IsNaN(now) || math.IsNaN(before) {
		return 0
	}
	r := (now + floor) / (math.Max(before, 0) + floor)
	return clamp(1 - math.Exp(-(math.Log2(r) - 0.25)))
}

// Z is how strongly a robust z-score says the same: below 3 nothing, 5 is
// 0.39, 10 is 0.83.
func Z(z float64) float64 {
	if z <= 3 || math.IsNaN(z) {
		return 0
	}
	return clamp(1 - math.Exp(-(z-3)/4))
}

// RobustZ is how far v lies above the values of xs, in robust standard
// deviations (median and median absolute deviation), with a floor on the
// spread of a fraction rel of the median plus abs, so that near-constant
// peers do not make every difference infinite.
func RobustZ(v float64, xs []float64, rel, abs float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	m := Median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - m)
	}
	spread := 1.4826*Median(dev) + rel*math.Abs(m) + abs
	if spread <= 0 {
		return 0
	}
	return (v - m) / spread
}

// Median of xs (xs is not changed); 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func clamp(v float64) float64 { return math.Max(0, math.Min(1, v)) }

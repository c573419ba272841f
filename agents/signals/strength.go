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

// PoissonRise is how sure counts make a rise, as −log10 of a p-value:
// now events in nowSpan against before events in beforeSpan (any one unit:
// minutes, or all lines of a service), by the conditional test for two
// Poisson rates — given n = now + before events, each falls in the window
// with probability nowSpan / (nowSpan + beforeSpan) if nothing changed.
// 0 when the window holds no more than its share. Counts may be weighted
// (sample rates): they are rounded.
func PoissonRise(now, nowSpan, before, beforeSpan float64) float64 {
	if nowSpan <= 0 || beforeSpan <= 0 || now <= 0 {
		return 0
	}
	a, b := math.Round(now), math.Round(math.Max(before, 0))
	p := nowSpan / (nowSpan + beforeSpan)
	if a <= (a+b)*p {
		return 0
	}
	return -logBinomTail(int(a), int(a+b), p) / math.Ln10
}

// Sure maps a −log10 p-value to a strength from 0 to 1: from nothing at
// p = 10^-from to all at 10^-to.
func Sure(log10p, from, to float64) float64 {
	if to <= from {
		return 0
	}
	return clamp((log10p - from) / (to - from))
}

// logBinomTail is log P(X ≥ k) for X ~ Binomial(n, p), summed in log space
// from k up (the terms fall fast past the mean); a normal approximation
// past 5,000 trials.
func logBinomTail(k, n int, p float64) float64 {
	if k <= 0 {
		return 0
	}
	if k > n {
		return math.Inf(-1)
	}
	if n > 5000 {
		mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
		z := (float64(k) - 0.5 - mean) / sd
		return math.Log(0.5 * math.Erfc(z/math.Sqrt2))
	}
	lgN, _ := math.Lgamma(float64(n + 1))
	lp, lq := math.Log(p), math.Log1p(-p)
	term := func(i int) float64 {
		a, _ := math.Lgamma(float64(i + 1))
		b, _ := math.Lgamma(float64(n - i + 1))
		return lgN - a - b + float64(i)*lp + float64(n-i)*lq
	}
	acc := term(k)
	for i := k + 1; i <= n; i++ {
		t := term(i)
		if t < acc-40 {
			break
		}
		acc = math.Max(acc, t) + math.Log1p(math.Exp(-math.Abs(acc-t)))
	}
	return acc
}

// PoissonFall is how sure a count makes a fall, as −log10 of a p-value:
// now events seen where expected were, P(X ≤ now) for X ~ Poisson(expected).
// 0 when now is at least what was expected. Counts may be weighted: now is
// rounded.
func PoissonFall(now, expected float64) float64 {
	if expected <= 0 || now >= expected || math.IsNaN(now) || math.IsNaN(expected) {
		return 0
	}
	k := int(math.Round(math.Max(now, 0)))
	// log P(X = i) = i·log λ − λ − log i!, summed from i = k down (the
	// terms fall fast below the mean).
	term := func(i int) float64 {
		lf, _ := math.Lgamma(float64(i + 1))
		return float64(i)*math.Log(expected) - expected - lf
	}
	acc := term(k)
	for i := k - 1; i >= 0; i-- {
		t := term(i)
		if t < acc-40 {
			break
		}
		acc = math.Max(acc, t) + math.Log1p(math.Exp(-math.Abs(acc-t)))
	}
	return math.Max(0, -acc/math.Ln10)
}

package nab

import "math"

// Profile weighs a NAB score: how much a detected window earns, a false
// alert costs and a missed window costs.
type Profile struct {
	Name       string
	TP, FP, FN float64
	Short      string
}

// Profiles are NAB's three (config/profiles.json).
var Profiles = []Profile{
	{Name: "standard", Short: "NAB std", TP: 1, FP: 0.11, FN: 1},
	{Name: "reward_low_FP_rate", Short: "NAB lowFP", TP: 1, FP: 0.22, FN: 1},
	{Name: "reward_low_FN_rate", Short: "NAB lowFN", TP: 1, FP: 0.11, FN: 2},
}

// Tally is what the measures are computed from, summed over files. Every
// count leaves out each file's probationary points.
type Tally struct {
	Files   int
	Points  int // scored points
	Windows int // labelled windows with a scored point
	Found   int // windows with an alert inside
	Alerts  int
	// InWindow counts the alerts inside windows.
	InWindow int
	// WindowPoints and FoundPoints are the points of all windows and of
	// found ones (the point-adjusted true positives).
	WindowPoints, FoundPoints int
	// Delay sums, over found windows, the points from the window's start
	// to its first alert.
	Delay int
	// Raw holds the unnormalised NAB score by profile.
	Raw [3]float64
}

// Add sums another tally into t.
func (t *Tally) Add(o Tally) {
	t.Files += o.Files
	t.Points += o.Points
	t.Windows += o.Windows
	t.Found += o.Found
	t.Alerts += o.Alerts
	t.InWindow += o.InWindow
	t.WindowPoints += o.WindowPoints
	t.FoundPoints += o.FoundPoints
	t.Delay += o.Delay
	for i := range t.Raw {
		t.Raw[i] += o.Raw[i]
	}
}

// NAB is the normalised NAB score of profile i: 0 for a detector that
// never alerts, 100 for one that alerts at the first point of every window
// and nowhere else; a detector that alerts too often goes below 0.
func (t Tally) NAB(i int) float64 {
	p := Profiles[i]
	null, perfect := -p.FN*float64(t.Windows), p.TP*float64(t.Windows)
	if perfect == null {
		return 0
	}
	return 100 * (t.Raw[i] - null) / (perfect - null)
}

// PointAdjustedF1 counts every point of a window with an alert as found
// and every alert outside windows as a false positive.
func (t Tally) PointAdjustedF1() float64 {
	fp := t.Alerts - t.InWindow
	return f1(ratio(t.FoundPoints, t.FoundPoints+fp), ratio(t.FoundPoints, t.WindowPoints))
}

// EventF1 is the composite F-score: windows found (event recall) against
// the share of alerts that fall in a window (point precision). Alerting
// everywhere finds every window and is almost never right.
func (t Tally) EventF1() float64 {
	return f1(t.Precision(), t.Recall())
}

// Precision is the share of alerts inside a window.
func (t Tally) Precision() float64 { return ratio(t.InWindow, t.Alerts) }

// Recall is the share of windows found.
func (t Tally) Recall() float64 { return ratio(t.Found, t.Windows) }

// MeanDelay is the mean number of points from a found window's start to
// its first alert (NaN when none was found).
func (t Tally) MeanDelay() float64 {
	if t.Found == 0 {
		return math.NaN()
	}
	return float64(t.Delay) / float64(t.Found)
}

// AlertsPer1000 is the alert rate per 1,000 scored points.
func (t Tally) AlertsPer1000() float64 { return 1000 * ratio(t.Alerts, t.Points) }

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// scaledSigmoid is NAB's reward for an alert by its position relative to
// a window: near 1 at a window's start, near 0 at its end, and a penalty
// growing to -1 the further after a window it falls.
func scaledSigmoid(pos float64) float64 {
	if pos > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*pos)) - 1
}

// Score measures one file's alerts. As in NAB's scorer, points in the
// probationary period are not scored (neither alerts nor windows there),
// only the earliest alert in a window counts towards the NAB score, and a
// false alert costs less the closer it follows a window.
func Score(f *File, alerts []bool) Tally {
	probation := f.Probation()
	t := Tally{Files: 1, Points: max(0, len(alerts)-probation)}
	maxTP := scaledSigmoid(-1)
	var fp [3]float64
	best := make([]float64, len(f.windows)) // the best unweighted reward per window
	found := make([]bool, len(f.windows))
	for wi, w := range f.windows {
		best[wi] = math.Inf(-1)
		if w.end >= probation {
			t.Windows++
			t.WindowPoints += w.end - max(w.start, probation) + 1
		}
	}
	wi := 0 // the first window not yet behind the point
	for i, alert := range alerts {
		for wi < len(f.windows) && f.windows[wi].end < i {
			wi++
		}
		if !alert || i < probation {
			continue
		}
		t.Alerts++
		if wi < len(f.windows) && f.windows[wi].start <= i {
			w := f.windows[wi]
			t.InWindow++
			width := float64(w.end - w.start + 1)
			best[wi] = math.Max(best[wi], scaledSigmoid(-float64(w.end-i+1)/width)/maxTP)
			if !found[wi] {
				found[wi] = true
				t.Delay += i - max(w.start, probation)
			}
			continue
		}
		// A false alert: its cost by distance from the window before it.
		cost := -1.0
		if wi > 0 {
			prev := f.windows[wi-1]
			if width := prev.end - prev.start + 1; width > 1 {
				cost = scaledSigmoid(float64(i-prev.end) / float64(width-1))
			}
		}
		for p, prof := range Profiles {
			fp[p] += cost * prof.FP
		}
	}
	for wi, w := range f.windows {
		if w.end < probation {
			continue
		}
		if found[wi] {
			t.Found++
			t.FoundPoints += w.end - max(w.start, probation) + 1
		}
	}
	for p, prof := range Profiles {
		t.Raw[p] = fp[p]
		for wi, w := range f.windows {
			if w.end < probation {
				continue
			}
			if found[wi] {
				t.Raw[p] += best[wi] * prof.TP
			} else {
				t.Raw[p] -= prof.FN
			}
		}
	}
	return t
}

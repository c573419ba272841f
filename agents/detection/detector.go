// Package detection finds anomalies in time series without rules written
// first: every series gets streaming baselines that learn its level, its
// spread and its daily and weekly rhythm, and each verdict says what was
// expected, the band around it, the score and which detector spoke.
//
// A Series holds a univariate series' state in a few hundred bytes (the
// target is 1 KB a series at 100,000 series); Observe takes one point at a
// time, in time order. The multivariate isolation forest (forest.go) and
// the rules (rules.go) sit beside it.
package detection

import (
	"fmt"
	"math"
	"time"
)

// Config sets the detectors' defaults. They are tuned once on the NAB
// corpus as a whole (see BENCHMARKS.md), never per series.
type Config struct {
	// Window is how many recent points the robust z-score looks at.
	Window int
	// Warmup is how many points a series needs before any verdict.
	Warmup int
	// Threshold is the robust z-score (median/MAD) that makes a point
	// anomalous.
	Threshold float64
	// EWMAAlpha is the weight of a new point in the exponentially weighted
	// mean and variance; EWMAThreshold their z-score for an anomaly.
	EWMAAlpha     float64
	EWMAThreshold float64
	// Seasonal turns on the hour-of-day and day-of-week profile. A series
	// uses it once the hour at hand has been seen on SeasonalMin days and
	// the profile explains at least SeasonalGain of the series' variance;
	// the z-score then runs on what the profile does not explain.
	Seasonal     bool
	SeasonalMin  int
	SeasonalGain float64
	// MinScale is the smallest spread assumed, in the series' own units,
	// relative to the median's magnitude (RelScale) or absolute (AbsScale):
	// a series flat for a while does not make every wiggle an anomaly.
	RelScale float64
	AbsScale float64
	// AdaptAfter is how long a series may stay outside its band before the
	// new level becomes its normal: until then the baseline learns nothing
	// from anomalous points, so an anomaly lasts as long as the fault does.
	// 0 never adapts.
	AdaptAfter time.Duration
	// Novelty widens the band to the window's range plus this share of
	// it: a value the series took in its recent past (a spike that recurs
	// each hour) is not an anomaly however far from the median it is.
	// Negative turns the range off.
	Novelty float64
}

// DefaultConfig is what every watched series gets.
func DefaultConfig() Config {
	return Config{
		Window: 200, Warmup: 30, Threshold: 5, EWMAAlpha: 0.05, EWMAThreshold: 8,
		Seasonal: true, SeasonalMin: 3, SeasonalGain: 0.3, RelScale: 0.01, AbsScale: 1e-9,
		AdaptAfter: 2 * time.Hour, Novelty: 0.2,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Window < 8 || c.Window > 4096 {
		return fmt.Errorf("detection window %d: want 8 to 4096 points", c.Window)
	}
	if c.Warmup < 1 || c.Threshold <= 0 || c.EWMAThreshold <= 0 || c.EWMAAlpha <= 0 || c.EWMAAlpha >= 1 {
		return fmt.Errorf("detection: warmup, thresholds must be positive and 0 < alpha < 1")
	}
	return nil
}

// Verdict is the detectors' opinion of one point.
type Verdict struct {
	// Anomalous is set when the point is outside the band.
	Anomalous bool
	// Score is how far outside, in robust standard deviations (≥ 0).
	Score float64
	// Expected is the baseline's value; Lower and Upper bound the band a
	// point may stay within.
	Expected, Lower, Upper float64
	// Detector names what spoke: "zscore", "ewma", "seasonal+zscore".
	Detector string
	// Ready is false while the series warms up (no opinion yet).
	Ready bool
}

// Explain is a sentence for people.
func (v Verdict) Explain(observed float64) string {
	if !v.Ready {
		return "still learning this series"
	}
	dir := "above"
	if observed < v.Expected {
		dir = "below"
	}
	return fmt.Sprintf("%s: observed %.4g is %s the expected %.4g (band %.4g to %.4g), score %.1f",
		v.Detector, observed, dir, v.Expected, v.Lower, v.Upper, v.Score)
}

// Series is one univariate series' detector state. The zero value is not
// ready: use NewSeries.
type Series struct {
	ring   []float32 // the last Window values (residuals once seasonal)
	head   uint16
	filled uint16
	n      uint32
	ewMean float64
	ewVar  float64
	season *season
	lastT  int64
	// outSince is the first point of the current stretch outside the band
	// (0: inside); inside counts the points back inside since its last
	// point outside.
	outSince int64
	inside   uint16
	// held keeps the values of a short stretch outside the band: learnt
	// once the series is back inside, so that a spike that recurs becomes
	// normal, while a long stretch (a fault) is never learnt.
	held    *[]float32 // allocated while a stretch lasts
	long    bool
	scratch *[]float32 // shared sorting buffer, owned by the caller's goroutine
}

// maxHeld is the longest stretch outside the band learnt afterwards.
const maxHeld = 12

// stretchEnd is how many points back inside the band end a stretch
// outside it, as an anomaly ends by default (EngineConfig.EndAfter).
const stretchEnd = 6

// NewSeries makes the state of one series. scratch, shared by the series
// a goroutine owns, saves an allocation per point; nil allocates one.
func NewSeries(cfg Config, scratch *[]float32) *Series {
	if scratch == nil {
		b := make([]float32, 0, cfg.Window)
		scratch = &b
	}
	s := &Series{ring: make([]float32, cfg.Window), scratch: scratch}
	if cfg.Seasonal {
		s.season = &season{}
	}
	return s
}

// Observe scores the point (t in Unix nanoseconds) against what came before
// and then learns from it. A NaN or infinite value, or a point not after
// the last one, is skipped with a not-ready verdict: missing data is not an
// anomaly, and gaps need no filling.
func (s *Series) Observe(cfg *Config, t int64, v float64) Verdict {
	if math.IsNaN(v) || math.IsInf(v, 0) || (s.n > 0 && t <= s.lastT) {
		return Verdict{}
	}
	s.lastT = t
	x := v
	expectedBase := 0.0
	seasonal := false
	if s.season != nil {
		if base, ok := s.season.expect(cfg, t); ok && s.season.useful(cfg) {
			x, expectedBase, seasonal = v-base, base, true
		}
	}
	verdict := s.score(cfg, x)
	if verdict.Ready {
		verdict.Expected += expectedBase
		verdict.Lower += expectedBase
		verdict.Upper += expectedBase
		if seasonal {
			verdict.Detector = "seasonal+" + verdict.Detector
		}
	}
	if s.season != nil {
		// The daily profile learns every point: it averages each hour over
		// days, and a rise at 9:00 every morning has to become expected.
		s.season.learn(cfg, t, v)
	}
	if s.outside(cfg, t, x, verdict.Anomalous) {
		return verdict // the window stays what it was before the anomaly
	}
	s.remember(cfg, x)
	return verdict
}

// outside follows the stretches outside the band and says whether the
// point is to be kept from the baseline: an anomalous point is, until the
// stretch has lasted AdaptAfter, when the series starts learning afresh
// from the new level.
func (s *Series) outside(cfg *Config, t int64, x float64, anomalous bool) bool {
	if !anomalous {
		if s.outSince != 0 {
			if s.inside++; s.inside >= stretchEnd {
				if !s.long && s.held != nil {
					for _, h := range *s.held {
						s.remember(cfg, float64(h))
					}
				}
				s.outSince, s.inside, s.held, s.long = 0, 0, nil, false
			}
		}
		return false
	}
	s.inside = 0
	if s.outSince == 0 {
		s.outSince = t
	}
	if cfg.AdaptAfter > 0 && t-s.outSince >= int64(cfg.AdaptAfter) {
		s.Rebaseline()
		return false
	}
	if s.held == nil {
		s.held = new([]float32)
	}
	if len(*s.held) < maxHeld {
		*s.held = append(*s.held, float32(x))
	} else {
		s.long = true
	}
	return true
}

// Rebaseline makes the series learn its normal afresh from the next
// point on: a sustained new level is accepted (after AdaptAfter, or when
// a person says so). The daily profile is kept; the window and the EWMA
// warm up again.
func (s *Series) Rebaseline() {
	s.head, s.filled, s.n = 0, 0, 0
	s.ewMean, s.ewVar = 0, 0
	s.outSince, s.inside, s.held, s.long = 0, 0, nil, false
}

// score compares x with the window's median and MAD and with the EWMA;
// the robust z-score decides, the EWMA confirms slow drifts the window has
// absorbed.
func (s *Series) score(cfg *Config, x float64) Verdict {
	if int(s.n) < cfg.Warmup || s.filled < 8 {
		return Verdict{}
	}
	med, mad, lo, hi := s.medianMAD()
	scale := 1.4826 * mad
	scale = math.Max(scale, math.Max(cfg.RelScale*math.Abs(med), cfg.AbsScale))
	z := math.Abs(x-med) / scale
	ewStd := math.Sqrt(s.ewVar)
	ewStd = math.Max(ewStd, math.Max(cfg.RelScale*math.Abs(s.ewMean), cfg.AbsScale))
	ez := math.Abs(x-s.ewMean) / ewStd
	v := Verdict{Ready: true, Expected: med, Lower: med - cfg.Threshold*scale, Upper: med + cfg.Threshold*scale,
		Score: z, Detector: "zscore"}
	if ez >= cfg.EWMAThreshold*1.5 && z >= cfg.Threshold/2 && z < cfg.Threshold {
		// A level the window has half absorbed but the long memory of the
		// EWMA has not.
		v.Score, v.Detector = ez, "ewma"
		v.Expected, v.Lower, v.Upper = s.ewMean, s.ewMean-cfg.EWMAThreshold*ewStd, s.ewMean+cfg.EWMAThreshold*ewStd
	}
	if cfg.Novelty >= 0 {
		margin := cfg.Novelty * (hi - lo)
		v.Lower, v.Upper = math.Min(v.Lower, lo-margin), math.Max(v.Upper, hi+margin)
	}
	v.Anomalous = x < v.Lower || x > v.Upper
	return v
}

// remember adds x to the window and the EWMA.
func (s *Series) remember(cfg *Config, x float64) {
	s.ring[s.head] = float32(x)
	s.head = uint16((int(s.head) + 1) % len(s.ring))
	if int(s.filled) < len(s.ring) {
		s.filled++
	}
	s.n++
	if s.n == 1 {
		s.ewMean = x
	} else {
		d := x - s.ewMean
		s.ewMean += cfg.EWMAAlpha * d
		s.ewVar = (1 - cfg.EWMAAlpha) * (s.ewVar + cfg.EWMAAlpha*d*d)
	}
}

// medianMAD of the window and its range, with the shared scratch buffer.
// The range leaves out the newest twentieth of the window: a ramp, learnt a
// little at a time, must not carry the range along with it.
func (s *Series) medianMAD() (med, mad, lo, hi float64) {
	buf := append((*s.scratch)[:0], s.ring[:s.filled]...)
	lo, hi = math.Inf(1), math.Inf(-1)
	recent := int(s.filled) / 20
	for i := 0; i < int(s.filled)-recent; i++ {
		// Oldest first: the entry at head is the oldest once the ring is
		// full, entry 0 until then.
		j := i
		if int(s.filled) == len(s.ring) {
			j = (int(s.head) + i) % len(s.ring)
		}
		v := float64(s.ring[j])
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	med = median(buf)
	for i := range buf {
		buf[i] = float32(math.Abs(float64(buf[i]) - med))
	}
	mad = median(buf)
	*s.scratch = buf
	return med, mad, lo, hi
}

// median selects in place (quickselect); buf is reordered.
func median(buf []float32) float64 {
	n := len(buf)
	k := n / 2
	hi := selectK(buf, k)
	if n%2 == 1 {
		return float64(hi)
	}
	// The largest of the lower half.
	lo := buf[0]
	for _, v := range buf[1:k] {
		if v > lo {
			lo = v
		}
	}
	return (float64(lo) + float64(hi)) / 2
}

func selectK(a []float32, k int) float32 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		p := a[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for a[i] < p {
				i++
			}
			for a[j] > p {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}

// Step rounds a time down to the resolution, for callers that bucket
// points.
func Step(t int64, res time.Duration) int64 { return t - t%int64(res) }

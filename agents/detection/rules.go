package detection

import (
	"fmt"
	"time"

	"github.com/inquest/inquest/agents/signals"
)

// Threshold is a static rule: the value compared with Value has held for
// For (0: at once).
type Threshold struct {
	Op    string // >, >=, <, <=
	Value float64
	For   time.Duration
	since int64 // when the condition started holding; 0 when it does not
}

// Validate checks the operator.
func (r *Threshold) Validate() error {
	switch r.Op {
	case ">", ">=", "<", "<=":
		return nil
	}
	return fmt.Errorf("threshold operator %q: want >, >=, < or <=", r.Op)
}

// Observe tells whether the rule fires at t.
func (r *Threshold) Observe(t int64, v float64) Verdict {
	var holds bool
	switch r.Op {
	case ">":
		holds = v > r.Value
	case ">=":
		holds = v >= r.Value
	case "<":
		holds = v < r.Value
	case "<=":
		holds = v <= r.Value
	}
	if !holds {
		r.since = 0
		return Verdict{Ready: true, Expected: r.Value, Lower: r.Value, Upper: r.Value, Detector: "threshold"}
	}
	if r.since == 0 {
		r.since = t
	}
	fires := time.Duration(t-r.since) >= r.For
	return Verdict{Ready: true, Anomalous: fires, Score: v, Expected: r.Value, Lower: r.Value, Upper: r.Value, Detector: "threshold"}
}

// BurnWindow is one alert of the multi-window, multi-burn-rate scheme: it
// fires when the error budget burns at Factor times the sustainable rate
// over both the Long and the Short window (the short one makes the alert
// stop soon after the errors do).
type BurnWindow struct {
	Long, Short time.Duration
	Factor      float64
	Severity    string // page or ticket
}

// SREWorkbookWindows are the Google SRE workbook's recommended alerts for
// a 30-day SLO: 2% of the budget in an hour or 5% in six hours pages, 10%
// in three days opens a ticket.
var SREWorkbookWindows = []BurnWindow{
	{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4, Severity: "page"},
	{Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6, Severity: "page"},
	{Long: 24 * time.Hour, Short: 2 * time.Hour, Factor: 3, Severity: "ticket"},
	{Long: 72 * time.Hour, Short: 6 * time.Hour, Factor: 1, Severity: "ticket"},
}

// BurnRate watches an SLO (Objective, such as 0.999 for 99.9% good
// events) from counts of good and total events. Counts are kept in
// one-minute buckets for the longest window (3 days: 4,320 buckets, 69 KB
// a rule).
type BurnRate struct {
	Objective float64
	Windows   []BurnWindow

	bucket   time.Duration
	totals   []float64
	errors   []float64
	head     int64 // absolute bucket index of the newest bucket
	started  bool
	capacity int
}

// NewBurnRate makes the rule with the workbook's windows.
func NewBurnRate(objective float64) (*BurnRate, error) {
	if objective <= 0 || objective >= 1 {
		return nil, fmt.Errorf("SLO objective %g: want a ratio between 0 and 1, such as 0.999", objective)
	}
	r := &BurnRate{Objective: objective, Windows: SREWorkbookWindows, bucket: time.Minute}
	for _, w := range r.Windows {
		r.capacity = max(r.capacity, int(w.Long/r.bucket))
	}
	r.totals, r.errors = make([]float64, r.capacity), make([]float64, r.capacity)
	return r, nil
}

// Add counts events at t: total of them, bad of them errors.
func (r *BurnRate) Add(t int64, total, bad float64) {
	b := t / int64(r.bucket)
	if !r.started {
		r.head, r.started = b, true
	}
	if b < r.head-int64(r.capacity)+1 {
		return // older than the longest window
	}
	for r.head < b { // clear the buckets skipped
		r.head++
		i := int(r.head % int64(r.capacity))
		r.totals[i], r.errors[i] = 0, 0
	}
	i := int(b % int64(r.capacity))
	r.totals[i] += total
	r.errors[i] += bad
}

// burn is the error ratio over the last d divided by the budget ratio.
func (r *BurnRate) burn(d time.Duration) float64 {
	n := int(d / r.bucket)
	var tot, bad float64
	for k := 0; k < n && k < r.capacity; k++ {
		i := int((r.head - int64(k)) % int64(r.capacity))
		if i < 0 {
			i += r.capacity
		}
		tot += r.totals[i]
		bad += r.errors[i]
	}
	if tot == 0 {
		return 0
	}
	return (bad / tot) / (1 - r.Objective)
}

// Evaluate tells whether an alert fires now, the most severe first; Score
// is the long window's burn rate.
func (r *BurnRate) Evaluate() (Verdict, BurnWindow) {
	for _, w := range r.Windows {
		long, short := r.burn(w.Long), r.burn(w.Short)
		if long >= w.Factor && short >= w.Factor {
			return Verdict{Ready: true, Anomalous: true, Score: long, Expected: 1, Lower: 0, Upper: w.Factor,
				Detector: fmt.Sprintf("slo-burn-rate(SLO %s, %s/%s ≥ %gx)", signals.Objective(r.Objective), w.Long, w.Short, w.Factor)}, w
		}
	}
	return Verdict{Ready: r.started, Score: r.burn(time.Hour), Expected: 1, Upper: r.Windows[0].Factor,
		Detector: fmt.Sprintf("slo-burn-rate(SLO %s)", signals.Objective(r.Objective))}, BurnWindow{}
}

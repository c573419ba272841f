package detection

import (
	"fmt"
	"math"

	"github.com/inquest/inquest/agents/signals"
	"github.com/inquest/inquest/domain"
)

// What people read about a series and its anomalies.

func readableKey(w *watched) string {
	if w.rule != "" {
		return "rule:" + w.rule
	}
	if w.name != "" {
		return "metric:" + w.name + ":" + w.signal
	}
	if w.operation != "" {
		return "red:" + w.service + ":" + w.operation + ":" + w.signal
	}
	return "red:" + w.service + ":" + w.signal
}

// format renders a value of a signal for people.
func format(signal string, v float64) string { return signals.Format(signal, v) }

func what(w *watched) string {
	switch {
	case w.name != "" && w.signal == SignalRate:
		return w.name + " rate"
	case w.name != "":
		return w.name
	case w.operation != "":
		return w.service + " " + w.operation + " " + signals.Name(w.signal)
	}
	return w.service + " " + signals.Name(w.signal)
}

func explain(w *watched, v Verdict, observed float64) string {
	if w.rule != "" {
		return explainRule(w, v, observed)
	}
	if w.signal == SignalVector && len(w.vector) == 5 {
		return fmt.Sprintf("%s: the combination of %s, %s errors and p99 %s (its callees at worst %s errors, p99 %s) was not seen in the last %d steps; isolation-forest score %.2f (threshold %.2f)",
			w.service, format(SignalRate, w.vector[0]), format(SignalErrorRatio, w.vector[1]), format(SignalP99, w.vector[2]),
			format(SignalErrorRatio, w.vector[3]), format(SignalP99, w.vector[4]), len(w.vec.ring), v.Score, w.vec.Threshold)
	}
	dir := "above"
	if observed < v.Expected {
		dir = "below"
	}
	return fmt.Sprintf("%s is %s, %s the expected %s (band %s to %s); %s score %.1f",
		what(w), format(w.signal, observed), dir, format(w.signal, v.Expected),
		format(w.signal, math.Max(v.Lower, 0)), format(w.signal, v.Upper), v.Detector, v.Score)
}

// severity grades an anomaly: how far out it is, and for error ratios how
// many requests fail.
func severity(signal string, score, observed float64) string {
	sev := "low"
	switch {
	case score >= 30:
		sev = "high"
	case score >= 12:
		sev = "medium"
	}
	if signal == SignalErrorRatio && observed >= 0.25 {
		sev = "critical"
	} else if signal == SignalErrorRatio && observed >= 0.05 && rank(sev) < rank("high") {
		sev = "high"
	}
	return sev
}

func rank(sev string) int { return domain.SeverityRank(sev) }

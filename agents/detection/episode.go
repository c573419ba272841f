package detection

// Episode follows one series' anomaly: it opens on an anomalous point and
// ends after endAfter points in a row back inside the band. The engine and
// the evaluation (package nab) share it, so that what is scored is what
// pages a person: the point where an anomaly opens.
type Episode struct {
	Open   bool
	normal int
}

// Step takes the next point's verdict and says whether the episode opened
// or ended at it.
func (e *Episode) Step(anomalous bool, endAfter int) (opened, ended bool) {
	if anomalous {
		e.normal = 0
		if !e.Open {
			e.Open = true
			return true, false
		}
		return false, false
	}
	if !e.Open {
		return false, false
	}
	if e.normal++; e.normal >= endAfter {
		e.Open, e.normal = false, 0
		return false, true
	}
	return false, false
}

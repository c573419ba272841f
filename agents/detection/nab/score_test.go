package nab

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// file is 1,000 points with one window over points 400..499; probation
// is the first 150.
func file() *File {
	f := &File{Name: "x/y.csv", Times: make([]int64, 1000), Values: make([]float64, 1000), windows: []window{{400, 499}}}
	for i := range f.Times {
		f.Times[i] = int64(i)
	}
	return f
}

func alertsAt(n int, at ...int) []bool {
	out := make([]bool, n)
	for _, i := range at {
		out[i] = true
	}
	return out
}

// TestNABScoreByHand checks the NAB score against its definition: the
// null detector 0, the perfect one 100, a late detection less, a false
// alert far from any window costs the profile's false-positive weight.
func TestNABScoreByHand(t *testing.T) {
	f := file()
	assert.Equal(t, 150, f.Probation())
	never := Score(f, alertsAt(1000))
	assert.Zero(t, never.NAB(0))
	assert.Equal(t, -1.0, never.Raw[0])

	perfect := Score(f, alertsAt(1000, 400))
	assert.InDelta(t, 100, perfect.NAB(0), 1e-9)
	assert.Zero(t, perfect.Delay)

	// The last point of the window: position -1/100, reward
	// 2·sigmoid(0.05)-1 over scaledSigmoid(-1).
	late := Score(f, alertsAt(1000, 499))
	want := (2/(1+math.Exp(-0.05)) - 1) / (2/(1+math.Exp(-5)) - 1)
	assert.InDelta(t, want, late.Raw[0], 1e-9)
	assert.Equal(t, 99, late.Delay)

	// Only the earliest alert in a window counts.
	twice := Score(f, alertsAt(1000, 400, 450))
	assert.InDelta(t, 100, twice.NAB(0), 1e-9)
	assert.Equal(t, 2, twice.InWindow)

	// A false alert before any window costs the FP weight in full; one in
	// probation costs nothing.
	early := Score(f, alertsAt(1000, 100, 200, 400))
	assert.InDelta(t, 1-0.11, early.Raw[0], 1e-9)
	assert.InDelta(t, 1-0.22, early.Raw[1], 1e-9)
	assert.Equal(t, 2, early.Alerts, "the alert in probation is not scored")

	// Right after a window a false alert costs little.
	after := Score(f, alertsAt(1000, 400, 500))
	assert.Greater(t, after.Raw[0], 1-0.11*0.2)
}

// TestMeasuresPunishAlertingEverywhere: alerting at every point finds
// every window and loses every measure to one alert per window.
func TestMeasuresPunishAlertingEverywhere(t *testing.T) {
	f := file()
	all := make([]bool, 1000)
	for i := range all {
		all[i] = true
	}
	always, one := Score(f, all), Score(f, alertsAt(1000, 410))
	assert.Equal(t, 1, always.Found)
	assert.Less(t, always.NAB(0), 0.0)
	assert.Less(t, always.NAB(0), one.NAB(0))
	assert.Less(t, always.PointAdjustedF1(), one.PointAdjustedF1())
	assert.Less(t, always.EventF1(), one.EventF1())
	assert.InDelta(t, 1.0, one.PointAdjustedF1(), 1e-9)
	assert.InDelta(t, 1000*1/850.0, one.AlertsPer1000(), 1e-9)
	assert.Equal(t, 10.0, one.MeanDelay())
}

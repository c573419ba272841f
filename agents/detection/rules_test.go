package detection

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThreshold(t *testing.T) {
	r := &Threshold{Op: ">", Value: 0.05, For: 30 * time.Second}
	require.NoError(t, r.Validate())
	assert.False(t, r.Observe(t0, 0.01).Anomalous)
	assert.False(t, r.Observe(t0+step, 0.2).Anomalous, "must hold for 30 s first")
	assert.False(t, r.Observe(t0+2*step, 0.2).Anomalous)
	assert.True(t, r.Observe(t0+4*step, 0.2).Anomalous)
	assert.False(t, r.Observe(t0+5*step, 0.01).Anomalous, "and stops at once")
	assert.Error(t, (&Threshold{Op: "=="}).Validate())
}

// minutes feeds per-minute counts: 1,000 requests with the given error
// ratio, from minute a to minute b after t0.
func feed(r *BurnRate, a, b int, ratio float64) {
	for m := a; m < b; m++ {
		r.Add(t0+int64(m)*int64(time.Minute), 1000, 1000*ratio)
	}
}

func TestBurnRate(t *testing.T) {
	_, err := NewBurnRate(1.5)
	assert.Error(t, err)

	r, err := NewBurnRate(0.999)
	require.NoError(t, err)
	feed(r, 0, 24*60, 0.0005) // half the budget rate for a day: fine
	v, _ := r.Evaluate()
	assert.False(t, v.Anomalous)
	assert.InDelta(t, 0.5, v.Score, 1e-9)

	// An outage: every request fails for 5 minutes → 1 h burn 83x.
	feed(r, 24*60, 24*60+5, 1)
	v, w := r.Evaluate()
	require.True(t, v.Anomalous)
	assert.Equal(t, "page", w.Severity)
	assert.Equal(t, time.Hour, w.Long)
	// The fast alert stops soon after the errors do: its 5-minute window
	// clears although the hour still burns; the slower windows hold on
	// until their short windows clear too.
	feed(r, 24*60+5, 24*60+11, 0)
	v, w = r.Evaluate()
	assert.True(t, v.Anomalous)
	assert.Equal(t, 6*time.Hour, w.Long, "the 1 h alert has reset; the 6 h/30 min one holds")
	feed(r, 24*60+11, 24*60+7*60, 0)
	v, _ = r.Evaluate()
	assert.False(t, v.Anomalous, "all windows clear once the errors are 6 h past")

	// 2% errors for 3 hours: slow for the 1 h page (burn 20 but...) —
	// pages on the 6 h window.
	r, _ = NewBurnRate(0.999)
	feed(r, 0, 6*60, 0)
	feed(r, 6*60, 9*60, 0.02)
	v, w = r.Evaluate()
	require.True(t, v.Anomalous)
	assert.Equal(t, "page", w.Severity)

	// 0.15% for two days: a ticket, not a page.
	r, _ = NewBurnRate(0.999)
	feed(r, 0, 48*60, 0.0015)
	v, w = r.Evaluate()
	require.True(t, v.Anomalous)
	assert.Equal(t, "ticket", w.Severity)
	assert.Equal(t, 72*time.Hour, w.Long)
}

func TestIsolationForest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// Rate and p99 move together (load raises latency).
	var data [][]float64
	for i := 0; i < 500; i++ {
		load := r.Float64() * 100
		data = append(data, []float64{load, 50 + load*2 + r.NormFloat64()*5, r.Float64() * 0.01})
	}
	f, err := TrainForest(data, 100, 256, rand.New(rand.NewPCG(5, 6)))
	require.NoError(t, err)
	normal := f.Score([]float64{50, 150, 0.005})
	assert.Less(t, normal, 0.55, "a point in the cloud")
	far := f.Score([]float64{50, 150, 0.5})
	assert.Greater(t, far, 0.75, "errors far out")
	// Each value is ordinary alone; together they are not (low load, p99
	// of a high load).
	joint := f.Score([]float64{5, 240, 0.005})
	assert.Greater(t, joint, normal+0.1, "a combination the history never showed")

	_, err = TrainForest([][]float64{{1, 2}, {1}}, 10, 10, r)
	assert.Error(t, err)
	_, err = TrainForest(nil, 10, 10, r)
	assert.Error(t, err)
	assert.Equal(t, 0.0, f.Score([]float64{1}), "wrong dimensions score nothing")
}

func TestVectorDetector(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	d := NewVectorDetector(1)
	var fired []int
	for i := 0; i < 1200; i++ {
		x := []float64{100 + r.NormFloat64()*5, 0.01 + r.NormFloat64()*0.001, 120 + r.NormFloat64()*10}
		if i == 1000 {
			x = []float64{100, 0.2, 900} // errors and latency at once
		}
		if d.Observe(x).Anomalous {
			fired = append(fired, i)
		}
	}
	assert.Contains(t, fired, 1000)
	assert.LessOrEqual(t, len(fired), 12, "few false alarms on noise: %v", fired)
	assert.False(t, d.Observe([]float64{1, math.NaN(), 3}).Ready, "a NaN is no opinion")
}

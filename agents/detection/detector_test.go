package detection

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC).UnixNano() // a Monday

const step = int64(10 * time.Second)

// run feeds values at 10 s steps and returns the indexes of anomalous
// points and the verdicts.
func run(t *testing.T, cfg Config, vs []float64) ([]int, []Verdict) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	s := NewSeries(cfg, nil)
	var idx []int
	var out []Verdict
	for i, v := range vs {
		vd := s.Observe(&cfg, t0+int64(i)*step, v)
		out = append(out, vd)
		if vd.Anomalous {
			idx = append(idx, i)
		}
	}
	return idx, out
}

func noisy(n int, level, sd float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = level + r.NormFloat64()*sd
	}
	return vs
}

func TestNoiseAloneIsQuiet(t *testing.T) {
	idx, vs := run(t, DefaultConfig(), noisy(5000, 100, 5, 1))
	assert.Empty(t, idx, "gaussian noise around a level raises nothing")
	assert.False(t, vs[10].Ready, "no opinion while warming up")
	assert.True(t, vs[4999].Ready)
	assert.InDelta(t, 100, vs[4999].Expected, 2)
}

func TestSpike(t *testing.T) {
	vs := noisy(1000, 100, 5, 2)
	vs[700] = 180
	idx, out := run(t, DefaultConfig(), vs)
	assert.Equal(t, []int{700}, idx, "only the spike")
	v := out[700]
	assert.Greater(t, v.Score, 7.0)
	assert.InDelta(t, 100, v.Expected, 2)
	assert.Less(t, v.Upper, 180.0)
	assert.Contains(t, v.Explain(180), "above the expected")
}

// TestStep: a level shift is anomalous at its first point and stays so
// (the baseline learns nothing from it) until AdaptAfter has passed; then
// the new level becomes the baseline.
func TestStep(t *testing.T) {
	vs := noisy(2000, 100, 5, 3)
	for i := 800; i < len(vs); i++ {
		vs[i] += 60
	}
	idx, _ := run(t, DefaultConfig(), vs)
	require.NotEmpty(t, idx)
	assert.Equal(t, 800, idx[0], "detected at the first point of the step: lag 0 steps")
	adapt := 800 + int(DefaultConfig().AdaptAfter/time.Duration(step))
	assert.Len(t, idx, adapt-800+1, "every point of the new level is anomalous until AdaptAfter (%d steps)", adapt-800)
	assert.Equal(t, adapt, idx[len(idx)-1], "then the new level is the baseline")
}

// TestRecurringSpikeBecomesNormal: a short spike is kept from the baseline
// while it lasts and learnt afterwards, so a spike that comes back every
// 20 minutes (a cron job) stops raising anomalies.
func TestRecurringSpikeBecomesNormal(t *testing.T) {
	vs := noisy(3000, 100, 5, 9)
	for i := 300; i < len(vs); i += 120 {
		vs[i], vs[i+1] = 200, 190
	}
	idx, _ := run(t, DefaultConfig(), vs)
	require.NotEmpty(t, idx)
	assert.Equal(t, 300, idx[0], "the first spike is an anomaly: %v", idx)
	assert.Less(t, idx[len(idx)-1], 1000, "the spikes of the last hours are normal")
}

func TestDropIsDetectedToo(t *testing.T) {
	vs := noisy(1000, 100, 5, 4)
	for i := 600; i < 620; i++ {
		vs[i] = 10
	}
	idx, out := run(t, DefaultConfig(), vs)
	require.NotEmpty(t, idx)
	assert.Equal(t, 600, idx[0])
	assert.Contains(t, out[600].Explain(10), "below the expected")
}

func TestSlowRampIsNotAnAnomalyButAFastOneIs(t *testing.T) {
	slow := noisy(3000, 100, 5, 5)
	for i := range slow {
		slow[i] += float64(i) * 0.01 // +30 over 8 hours
	}
	idx, _ := run(t, DefaultConfig(), slow)
	assert.Empty(t, idx, "a slow trend is followed")

	fast := noisy(1500, 100, 5, 6)
	for i := 800; i < len(fast); i++ {
		fast[i] += float64(i-800) * 2 // +2 a step
	}
	idx, _ = run(t, DefaultConfig(), fast)
	require.NotEmpty(t, idx)
	assert.Less(t, idx[0], 800+40, "a fast ramp is caught within 40 steps")
}

func TestFlatLine(t *testing.T) {
	vs := make([]float64, 1000)
	for i := range vs {
		vs[i] = 42
	}
	idx, out := run(t, DefaultConfig(), vs)
	assert.Empty(t, idx, "a flat line is normal")
	assert.Equal(t, 42.0, out[999].Expected)
	vs[900] = 60
	idx, _ = run(t, DefaultConfig(), vs)
	assert.Equal(t, []int{900}, idx, "leaving a flat line is not")
	vs[900] = 42.1 // within 1% of the level: not worth waking anyone
	idx, _ = run(t, DefaultConfig(), vs)
	assert.Empty(t, idx)
}

func TestMissingDataAndNaN(t *testing.T) {
	cfg := DefaultConfig()
	s := NewSeries(cfg, nil)
	vs := noisy(600, 100, 5, 7)
	i := 0
	for ; i < 300; i++ {
		s.Observe(&cfg, t0+int64(i)*step, vs[i])
	}
	// An hour missing, then NaN and infinities: no verdicts, no anomalies.
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		vd := s.Observe(&cfg, t0+int64(i+400)*step, v)
		assert.False(t, vd.Ready)
		assert.False(t, vd.Anomalous)
	}
	for i = 300; i < 600; i++ {
		vd := s.Observe(&cfg, t0+int64(i+360)*step, vs[i])
		assert.False(t, vd.Anomalous, "the gap is not an anomaly (point %d)", i)
	}
	// A point from the past is ignored rather than corrupting the state.
	assert.False(t, s.Observe(&cfg, t0, 1e9).Ready)
}

// A daily pattern: busy 9:00-17:00 UTC (300), quiet otherwise (100), at
// 5-minute resolution for two weeks.
func daily(days int, seed uint64) ([]int64, []float64) {
	r := rand.New(rand.NewPCG(seed, 2))
	var ts []int64
	var vs []float64
	for i := 0; i < days*288; i++ {
		t := t0 + int64(i)*int64(5*time.Minute)
		h := (t / int64(time.Hour)) % 24
		v := 100.0
		if h >= 9 && h < 17 {
			v = 300
		}
		ts = append(ts, t)
		vs = append(vs, v+r.NormFloat64()*8)
	}
	return ts, vs
}

func TestSeasonalPattern(t *testing.T) {
	cfg := DefaultConfig()
	ts, vs := daily(14, 8)
	s := NewSeries(cfg, nil)
	var late []int
	var lastVerdict Verdict
	for i := range ts {
		v := s.Observe(&cfg, ts[i], vs[i])
		if v.Anomalous && i > 7*288 {
			late = append(late, i)
		}
		lastVerdict = v
	}
	assert.Empty(t, late, "after a week the 9:00 rise and the 17:00 fall are expected")
	assert.Contains(t, lastVerdict.Detector, "seasonal")

	// The same pattern with 300 at 3:00 on day 12: an anomaly, although
	// 300 is a normal value in the afternoon.
	anomalyAt := 12*288 + 3*12
	for i := anomalyAt; i < anomalyAt+6; i++ {
		vs[i] = 300
	}
	s = NewSeries(cfg, nil)
	var hits []int
	for i := range ts {
		if v := s.Observe(&cfg, ts[i], vs[i]); v.Anomalous && i > 7*288 {
			hits = append(hits, i)
		}
	}
	require.NotEmpty(t, hits)
	assert.Equal(t, anomalyAt, hits[0])
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float32
		want float64
	}{{[]float32{3, 1, 2}, 2}, {[]float32{4, 1, 3, 2}, 2.5}, {[]float32{5}, 5}, {[]float32{1, 1, 1, 9}, 1}} {
		assert.Equal(t, c.want, median(append([]float32(nil), c.in...)), "%v", c.in)
	}
}

// heapPerSeries measures the heap one series holds once its window is full.
func heapPerSeries(cfg Config, n int) float64 {
	scratch := make([]float32, 0, cfg.Window)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	all := make([]*Series, n)
	for i := range all {
		all[i] = NewSeries(cfg, &scratch)
	}
	for p := 0; p < cfg.Window+10; p++ {
		for i, s := range all {
			s.Observe(&cfg, t0+int64(p)*step, float64(i%7+p%3))
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(all)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

func TestStateIsSmall(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seasonal = false
	zs := heapPerSeries(cfg, 10_000)
	assert.LessOrEqual(t, zs, 1024.0, "z-score and EWMA state within 1 KB a series")
	cfg.Seasonal = true
	all := heapPerSeries(cfg, 10_000)
	assert.LessOrEqual(t, all-zs, 300.0, "the seasonal profile adds little")
	t.Logf("bytes a series: %.0f z-score/EWMA, %.0f with the seasonal profile", zs, all)
}

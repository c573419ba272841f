package detection

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSeries100k runs 100,000 series through the detectors, one point
// each per 10 s step, on one goroutine (run with -cpu 1). One op is one
// point; keeping up needs 10,000 points/s.
func BenchmarkSeries100k(b *testing.B) {
	const n = 100_000
	cfg := DefaultConfig()
	scratch := make([]float32, 0, cfg.Window)
	all := make([]*Series, n)
	for i := range all {
		all[i] = NewSeries(cfg, &scratch)
	}
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = 100 + r.NormFloat64()*5
	}
	// Warm the windows up first: a full window is the steady state.
	for p := 0; p < cfg.Window; p++ {
		for i, s := range all {
			s.Observe(&cfg, t0+int64(p)*step, vals[(i+p)%len(vals)])
		}
	}
	b.ResetTimer()
	p := cfg.Window
	for i := 0; b.Loop(); i++ {
		k := i % n
		if k == 0 && i > 0 {
			p++
		}
		all[k].Observe(&cfg, t0+int64(p)*step, vals[(k+p)%len(vals)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/n*10, "x-realtime")
}

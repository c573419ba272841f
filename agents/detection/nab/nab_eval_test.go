package nab_test

import (
	"os"
	"testing"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/agents/detection/nab"
)

// TestCorpus prints the scores on the full corpus when it is present.
func TestCorpus(t *testing.T) {
	dir := os.Getenv("INQUEST_NAB_DIR")
	if dir == "" {
		t.Skip("set INQUEST_NAB_DIR to the NAB folder")
	}
	c, err := nab.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := detection.DefaultConfig()
	full, err := c.Run(func() func(int64, float64) bool {
		s := detection.NewSeries(cfg, nil)
		return func(t int64, v float64) bool { return s.Observe(&cfg, t, v).Anomalous }
	})
	if err != nil {
		t.Fatal(err)
	}
	base, err := c.Run(nab.ThreeSigma(cfg.Window, cfg.Warmup))
	if err != nil {
		t.Fatal(err)
	}
	nab.Table(os.Stdout, "detectors", full)
	nab.Table(os.Stdout, "3-sigma", base)
}

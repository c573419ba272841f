package nab_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/agents/detection/nab"
)

// corpus is the full NAB corpus when it is there (INQUEST_NAB_DIR, or
// ../shared/data/nab beside the checkout).
func corpus(t *testing.T) *nab.Corpus {
	dir := os.Getenv("INQUEST_NAB_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared", "data", "nab")
	}
	if _, err := os.Stat(filepath.Join(dir, "labels")); err != nil {
		t.Skipf("NAB corpus not found at %s (set INQUEST_NAB_DIR)", dir)
	}
	c, err := nab.Load(dir)
	require.NoError(t, err)
	require.Len(t, c.Files, 58)
	return c
}

func byName(rows []nab.Row, prefix string) nab.Tally {
	for _, r := range rows {
		if strings.HasPrefix(r.Name, prefix) {
			return *r.Scores["all"]
		}
	}
	panic("no row " + prefix)
}

// TestCorpus prints the tables of BENCHMARKS.md and holds the scoring to
// account: alerting at every point loses on every measure, and the
// detectors beat the 3-sigma rule and random alerts on the NAB score and
// the event-wise F1.
func TestCorpus(t *testing.T) {
	c := corpus(t)
	var out strings.Builder
	rows, err := nab.Compare(&out, c)
	require.NoError(t, err)
	t.Log("\n" + out.String())
	ours, sigma, random, always, never := byName(rows, "inquest"), byName(rows, "3-sigma"), byName(rows, "random"),
		byName(rows, "always"), byName(rows, "never")

	for i, p := range nab.Profiles {
		assert.Less(t, always.NAB(i), ours.NAB(i), "always alerting loses on NAB %s", p.Name)
		assert.Zero(t, never.NAB(i), "never alerting is NAB's 0")
	}
	assert.Less(t, always.PointAdjustedF1(), ours.PointAdjustedF1(), "always alerting loses on point-adjusted F1")
	assert.Less(t, always.EventF1(), ours.EventF1(), "always alerting loses on the event-wise F1")

	assert.Greater(t, ours.NAB(0), sigma.NAB(0)+10, "the detectors beat 3-sigma on the NAB standard score")
	assert.Greater(t, ours.NAB(0), random.NAB(0)+10, "and random alerts at their own rate")
	assert.Greater(t, ours.EventF1(), sigma.EventF1()+0.05, "the detectors beat 3-sigma on the event-wise F1")
	assert.Greater(t, ours.EventF1(), random.EventF1()+0.05)
	// Point-adjusted F1 is reported, not held to: random alerts at a low
	// rate score as well as any detector on it (NAB's windows are long).
	t.Logf("point-adjusted F1: detectors %.3f, 3-sigma %.3f, random %.3f", ours.PointAdjustedF1(), sigma.PointAdjustedF1(), random.PointAdjustedF1())
}

// A small NAB file kept in testdata (MIT, see testdata/LICENSE-NAB.txt):
// the detectors raise one alert, in the labelled window, and 3-sigma more.
func TestOneFile(t *testing.T) {
	c, err := nab.Load("testdata")
	require.NoError(t, err)
	require.Equal(t, []string{"artificialWithAnomaly/art_daily_jumpsup.csv"}, c.Files)
	f, err := c.Read(c.Files[0])
	require.NoError(t, err)
	s := nab.Score(f, nab.Alerts(f, nab.Detectors(detection.DefaultConfig())))
	assert.Equal(t, 1, s.Windows)
	assert.Equal(t, 1, s.Found, "the jump is found")
	base := nab.Score(f, nab.Alerts(f, nab.ThreeSigma(200, 30)))
	assert.LessOrEqual(t, s.Alerts, base.Alerts, "no more alerts than 3-sigma on the same file")
	assert.Greater(t, s.NAB(0), 50.0)
	t.Logf("detectors %+v NAB %.1f; 3-sigma %+v NAB %.1f", s, s.NAB(0), base, base.NAB(0))
}

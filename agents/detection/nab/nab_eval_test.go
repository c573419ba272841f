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

// The full corpus lives outside the repository; this runs it when it is
// there (INQUEST_NAB_DIR, or ../shared/data/nab beside the checkout).
func TestCorpusBeatsThreeSigma(t *testing.T) {
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
	var out strings.Builder
	full, base, err := nab.Compare(&out, c)
	require.NoError(t, err)
	t.Log("\n" + out.String())
	assert.Greater(t, full["all"].F1(), base["all"].F1(), "the detectors beat 3-sigma overall")
}

// A small NAB file kept in testdata (MIT, see testdata/LICENSE-NAB.txt):
// the detector finds its labelled window.
func TestOneFile(t *testing.T) {
	c, err := nab.Load("testdata")
	require.NoError(t, err)
	require.Equal(t, []string{"artificialWithAnomaly/art_daily_jumpsup.csv"}, c.Files)
	s, err := c.Evaluate(c.Files[0], nab.Detectors(detection.DefaultConfig()))
	require.NoError(t, err)
	assert.Equal(t, 1, s.Windows)
	assert.Equal(t, 1, s.Detected, "the jump is found")
	base, err := c.Evaluate(c.Files[0], nab.ThreeSigma(200, 30))
	require.NoError(t, err)
	assert.Less(t, s.Alerts, base.Alerts, "fewer false alarms than 3-sigma on the same file")
	t.Logf("detectors %+v, 3-sigma %+v", s, base)
}

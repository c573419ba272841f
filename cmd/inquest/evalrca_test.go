package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/rca"
	"github.com/inquest/inquest/agents/rca/replay"
)

// nezhaSystem reads the faults of a system packed in the Nezha layout
// (INQUEST_<NAME>_DIR, or ../shared/data/<dir> beside the checkout), the
// ones keep says; it skips the test when the data is not there.
func nezhaSystem(t *testing.T, env, dir string, keep func(i int, f replay.Fault) bool) evalSystem {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		path = filepath.Join("..", "..", "..", "shared", "data", dir)
	}
	days, err := replay.Days(path)
	if err != nil {
		t.Skipf("Nezha data not found at %s (set %s): %v", path, env, err)
	}
	faults, err := replay.Faults(days[0])
	require.NoError(t, err)
	sys := evalSystem{Name: dir}
	for i, f := range faults {
		if keep(i, f) {
			sys.Faults = append(sys.Faults, f)
		}
	}
	return sys
}

// overall reads a system's overall row: AC@1 of each method, in the
// table's order.
func overall(t *testing.T, out, system string) []float64 {
	t.Helper()
	i := strings.Index(out, "== "+system+":")
	require.GreaterOrEqual(t, i, 0, "a table for %s", system)
	row := regexp.MustCompile(`(?m)^\s*overall\s+\d+((?:\s+[0-9.]+)+)`).FindStringSubmatch(out[i:])
	require.NotNil(t, row, "the %s table has an overall row", system)
	fields := strings.Fields(row[1])
	require.Len(t, fields, 3*len(evalMethods), "three figures for each method")
	var ac1 []float64
	for m := range evalMethods {
		v, err := strconv.ParseFloat(fields[3*m], 64)
		require.NoError(t, err)
		ac1 = append(ac1, v)
	}
	return ac1
}

// TestEvalRCA replays faults of both development systems through ingest
// and investigates them: OnlineBoutique's first eight and, of
// TrainTicket, the first four and the one whose log file has the broken
// row (the run goes through it, counting it). A table per system comes
// out with every sanity row, Inquest beats the random ranking on each, and
// the leave-one-system-out line is there. The whole sets' figures are in
// BENCHMARKS.md (`inquest eval-rca`).
func TestEvalRCA(t *testing.T) {
	if testing.Short() {
		t.Skip("replays faults")
	}
	ob := nezhaSystem(t, "INQUEST_NEZHA_DIR", "nezha-ob", func(i int, _ replay.Fault) bool { return i < 8 })
	tt := nezhaSystem(t, "INQUEST_NEZHA_TT_DIR", "nezha-tt", func(i int, f replay.Fault) bool {
		return i < 4 || f.Raw == "2023-01-29T10:04:34Z"
	})
	var out bytes.Buffer
	require.NoError(t, evalRCA(context.Background(), &out, []evalSystem{ob, tt}, evalOptions{Weights: rca.DefaultWeights(), Cross: true}))
	t.Log("\n" + out.String())
	for _, sys := range []string{"nezha-ob", "nezha-tt"} {
		ac1 := overall(t, out.String(), sys)
		random := ac1[len(ac1)-1]
		assert.Greater(t, ac1[0], random, "%s: Inquest beats a random ranking", sys)
	}
	assert.GreaterOrEqual(t, overall(t, out.String(), "nezha-ob")[0], 0.5, "AC@1 on OnlineBoutique's first eight faults")
	assert.Regexp(t, `10_06\.csv\.gz: \d+ unreadable rows skipped`, out.String(), "the broken row is counted, not fatal")
	assert.Contains(t, out.String(), "leave one system out")
	assert.Regexp(t, `mean AC@1: own-tuned [0-9.]+, tuned on the others [0-9.]+`, out.String())
}

// TestTuneKeepsDefaultsWithoutEvidence: with no case to choose on, every
// weight stays at its default; a weights file round-trips.
func TestTuneKeepsDefaultsWithoutEvidence(t *testing.T) {
	w, trail := tune(rca.DefaultWeights(), nil, true)
	assert.Equal(t, rca.DefaultWeights(), w)
	assert.Empty(t, trail)

	path := filepath.Join(t.TempDir(), "w.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"common_power": 0.25, "kind": {"log": 0.5}}`), 0o644))
	got, err := rca.LoadWeights(path)
	require.NoError(t, err)
	assert.Equal(t, 0.25, got.CommonPower)
	assert.Equal(t, 0.5, got.Kind.Log)
	assert.Equal(t, 1.0, got.Kind.Resource, "what the file leaves out keeps its default")

	require.NoError(t, os.WriteFile(path, []byte(`{"comon_power": 0.25}`), 0o644))
	_, err = rca.LoadWeights(path)
	assert.ErrorContains(t, err, "comon_power", "a misspelt weight is refused by name")
	require.NoError(t, os.WriteFile(path, []byte(`{"kind": {"log": 3}}`), 0o644))
	_, err = rca.LoadWeights(path)
	assert.ErrorContains(t, err, "kind.log")
}

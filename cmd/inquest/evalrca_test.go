package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/rca/replay"
)

// TestEvalRCA replays the first faults of the Nezha OnlineBoutique set
// (INQUEST_NEZHA_DIR, or ../shared/data/nezha-ob beside the checkout)
// through ingest and investigates them: the table comes out, and Inquest
// beats the random ranking on them. The whole set's figures are in
// BENCHMARKS.md (`inquest eval-rca`).
func TestEvalRCA(t *testing.T) {
	if testing.Short() {
		t.Skip("replays faults")
	}
	dir := os.Getenv("INQUEST_NEZHA_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data", "nezha-ob")
	}
	days, err := replay.Days(dir)
	if err != nil {
		t.Skipf("Nezha data not found at %s (set INQUEST_NEZHA_DIR): %v", dir, err)
	}
	faults, err := replay.Faults(days[0])
	require.NoError(t, err)
	faults = faults[:8]
	var out bytes.Buffer
	require.NoError(t, evalRCA(context.Background(), &out, faults, true))
	t.Log("\n" + out.String())
	overall := regexp.MustCompile(`(?m)^\s*overall\s+8\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)(?:\s+[0-9.]+){6}\s+([0-9.]+)\s+([0-9.]+)`).FindStringSubmatch(out.String())
	require.NotNil(t, overall, "the table has an overall row of the four methods")
	ac1, _ := strconv.ParseFloat(overall[1], 64)
	random1, _ := strconv.ParseFloat(overall[4], 64)
	assert.GreaterOrEqual(t, ac1, 0.5, "AC@1 on the first eight faults")
	assert.Greater(t, ac1, random1, "Inquest beats a random ranking")
}

package signals

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPoissonFall: none seen where 8 were expected is p = e^-8; as many
// as expected, or more, is no fall; the sum over the lower tail matches
// the one added by hand.
func TestPoissonFall(t *testing.T) {
	assert.InDelta(t, 8/math.Ln10, PoissonFall(0, 8), 1e-9)
	assert.Zero(t, PoissonFall(8, 8))
	assert.Zero(t, PoissonFall(9, 8))
	assert.Zero(t, PoissonFall(0, 0))
	p := math.Exp(-20) * (1 + 20 + 200 + 8000.0/6)
	assert.InDelta(t, -math.Log10(p), PoissonFall(3, 20), 1e-9)
	assert.Less(t, PoissonFall(5, 20), PoissonFall(3, 20), "more seen, less sure")
	assert.False(t, math.IsNaN(PoissonFall(0, 1e6)))
}

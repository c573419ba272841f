package domain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSetCoverage(t *testing.T) {
	m := int64(time.Minute)
	r := TimeRange{Start: 0, End: 15 * m}
	// A demo a minute old, seen through a 15-minute range: its rate is
	// over the minute it has run.
	out := []ServiceSummary{{Name: "a", FirstNano: 14 * m, LastNano: 15*m - 1}, {Name: "b", FirstNano: 14*m + 5e9, LastNano: 14*m + 6e9}}
	SetCoverage(out, r)
	assert.Equal(t, 60.0, out[0].Seconds)
	assert.Equal(t, 60.0, out[1].Seconds, "one coverage for the tenant, not per service")
	out = []ServiceSummary{{Name: "a", FirstNano: 3 * m, LastNano: 3 * m}}
	SetCoverage(out, r)
	assert.Equal(t, 1.0, out[0].Seconds, "at least a second")
	SetCoverage(nil, r)
}

package ingest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuotas(t *testing.T) {
	now := time.Date(2026, 11, 21, 23, 59, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	assert.Nil(t, NewQuotas(QuotaConfig{}, clock), "unlimited by default")
	var off *Quotas
	assert.NoError(t, off.Admit("t", 1e9, 1e12))

	q := NewQuotas(QuotaConfig{EventsPerSecond: 100, Burst: 100, BytesPerDay: 1000}, clock)
	require.NoError(t, q.Admit("a", 100, 10))
	err := q.Admit("a", 1, 10)
	var qe *QuotaError
	require.True(t, errors.As(err, &qe))
	assert.Contains(t, qe.Error(), "tenant a: ingest rate limit of 100 records/s exceeded")
	assert.InDelta(t, 10*time.Millisecond, qe.RetryAfter, float64(time.Millisecond))
	assert.NoError(t, q.Admit("b", 100, 10), "tenants are limited separately")
	now = now.Add(500 * time.Millisecond)
	assert.NoError(t, q.Admit("a", 50, 10), "the bucket refills")
	assert.ErrorContains(t, q.Admit("a", 101, 0), "more than the burst")

	assert.NoError(t, q.Admit("c", 1, 990))
	err = q.Admit("c", 1, 11)
	require.True(t, errors.As(err, &qe))
	assert.Contains(t, qe.Error(), "daily ingest quota of 1000 bytes used up")
	assert.Equal(t, 59500*time.Millisecond, qe.RetryAfter, "until midnight UTC")
	now = now.Add(time.Minute)
	assert.NoError(t, q.Admit("c", 1, 11), "a new day")
}

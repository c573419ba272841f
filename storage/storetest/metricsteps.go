package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// testMetricStepInProgress asks for a range ending now with a step of five
// minutes: the step filling now holds a sample sent a moment ago and is
// answered, labelled with its start, as a whole step in the past is.
func testMetricStepInProgress(t *testing.T, s storage.MetricStore) {
	ctx := context.Background()
	const step = 5 * time.Minute
	now := time.Now()
	cur := now.Truncate(step)
	require.NoError(t, s.WriteSamples(ctx, []domain.Sample{
		sample("t1", "queue_depth", cur.Add(-step).UnixNano(), 3),
		sample("t1", "queue_depth", cur.Add(now.Sub(cur)/2).UnixNano(), 8),
	}))
	flush(t, s)
	series, err := s.MetricSeries(ctx, domain.MetricQuery{Tenant: "t1", Name: "queue_depth", Func: domain.FuncMax, Step: step,
		Range: domain.TimeRange{Start: cur.Add(-time.Hour).UnixNano(), End: time.Now().UnixNano()}})
	require.NoError(t, err)
	require.Len(t, series, 1)
	require.Len(t, series[0].Points, 2, "the step in the past and the one filling now")
	assert.Equal(t, domain.MetricPoint{TimeUnixNano: cur.Add(-step).UnixNano(), Value: 3}, series[0].Points[0])
	assert.Equal(t, domain.MetricPoint{TimeUnixNano: cur.UnixNano(), Value: 8}, series[0].Points[1])
}

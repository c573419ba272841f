package promrw

import (
	"fmt"
	"math"
	"testing"

	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompbmarshal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

func TestDecode(t *testing.T) {
	wr := prompbmarshal.WriteRequest{Timeseries: []prompbmarshal.TimeSeries{
		{Labels: []prompbmarshal.Label{{Name: "job", Value: "node"}, {Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: "500"}},
			Samples: []prompbmarshal.Sample{{Value: 1, Timestamp: 1000}, {Value: math.Float64frombits(0x7ff0000000000002), Timestamp: 2000}, {Value: 3, Timestamp: 3000}}},
		{Labels: []prompbmarshal.Label{{Name: "__name__", Value: "temperature"}}, Samples: []prompbmarshal.Sample{{Value: 21.5, Timestamp: 1000}}},
	}}
	d, err := Decode(wr.MarshalProtobuf(nil))
	require.NoError(t, err)
	assert.Equal(t, 1, d.Stale)
	require.Len(t, d.Samples, 4, "the staleness marker is kept: it ends the series")
	assert.True(t, IsStale(d.Samples[1].Value))
	s := d.Samples[0]
	assert.Equal(t, "http_requests_total", s.Name)
	assert.Equal(t, []string{"code", "job"}, s.Labels.Keys, "sorted, without __name__")
	assert.Equal(t, domain.MetricCounter, s.Type)
	assert.Equal(t, int64(1_000_000_000), s.TimeUnixNano, "milliseconds to nanoseconds")
	assert.Equal(t, s.SeriesID, d.Samples[1].SeriesID)
	assert.Equal(t, s.SeriesID, d.Samples[2].SeriesID)
	assert.Equal(t, domain.MetricGauge, d.Samples[3].Type)
	assert.NotEqual(t, s.SeriesID, d.Samples[3].SeriesID)

	_, err = Decode([]byte{0x0a, 0xff})
	assert.ErrorContains(t, err, "decode remote write")
}

// TestLabelLimit: a series with more labels than MaxLabels is refused by
// name, the others in the request kept; a label given twice keeps its
// last value, as before.
func TestLabelLimit(t *testing.T) {
	many := []prompbmarshal.Label{{Name: "__name__", Value: "too_wide"}}
	for i := range 30_000 {
		many = append(many, prompbmarshal.Label{Name: fmt.Sprint("l", i), Value: "v"})
	}
	wr := prompbmarshal.WriteRequest{Timeseries: []prompbmarshal.TimeSeries{
		{Labels: many, Samples: []prompbmarshal.Sample{{Value: 1, Timestamp: 1000}}},
		{Labels: []prompbmarshal.Label{{Name: "__name__", Value: "ok"}, {Name: "a", Value: "1"}, {Name: "a", Value: "2"}},
			Samples: []prompbmarshal.Sample{{Value: 1, Timestamp: 1000}}},
	}}
	d, err := Decode(wr.MarshalProtobuf(nil))
	require.NoError(t, err)
	require.Len(t, d.Samples, 1)
	assert.Equal(t, "ok", d.Samples[0].Name)
	assert.Equal(t, []string{"a"}, d.Samples[0].Labels.Keys)
	assert.Equal(t, []string{"2"}, d.Samples[0].Labels.Values, "the last value given wins")
	require.Len(t, d.Rejected, 1)
	assert.Equal(t, `series "too_wide" has 30000 labels, more than the limit of 128`, d.Rejected[0].Reason)
}

// BenchmarkWideSeries: 30k labels in one series cost a sort, not a scan per
// label (1.2 s before).
func BenchmarkWideSeries(b *testing.B) {
	var a domain.Attrs
	for b.Loop() {
		a = domain.Attrs{}
		for i := range 30_000 {
			a.Append(fmt.Sprint("l", 30_000-i), "v")
		}
		a.SortUnique()
	}
	_ = a
}

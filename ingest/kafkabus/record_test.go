package kafkabus

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
)

func TestRecordsRoundTripAndStaySmall(t *testing.T) {
	m := &ingest.Message{Tenant: "t1"}
	for i := 0; i < 3000; i++ {
		e := domain.Event{Tenant: "t1", TimeUnixNano: int64(i), Kind: domain.KindLog, Service: "svc", Name: "line",
			Body: strings.Repeat("x", 500), Status: domain.StatusUnset, SampleRate: 1}
		if i%2 == 0 {
			e.TraceID = fmt.Sprint("trace-", i%10)
		}
		e.ID = e.ContentHash()
		m.Events = append(m.Events, e)
	}
	for i := 0; i < 5000; i++ {
		s := domain.Sample{Tenant: "t1", Name: "cpu", TimeUnixNano: int64(i), Value: float64(i) / 3, Type: domain.MetricGauge}
		s.SeriesID = s.ComputeSeriesID()
		m.Samples = append(m.Samples, s)
	}
	recs, err := encode("raw-telemetry", m)
	require.NoError(t, err)
	got := &ingest.Message{Tenant: "t1"}
	for _, r := range recs {
		assert.LessOrEqual(t, len(r.Value), maxRecordBytes)
		d, err := decode(r.Value)
		require.NoError(t, err)
		if len(d.Events) > 0 && d.Events[0].TraceID != "" {
			assert.Equal(t, d.Events[0].TraceID, string(r.Key), "keyed by trace id")
		}
		got.Events = append(got.Events, d.Events...)
		got.Samples = append(got.Samples, d.Samples...)
	}
	assert.ElementsMatch(t, m.Events, got.Events)
	assert.Equal(t, m.Samples, got.Samples)

	m.Events[5].Tenant = "t2"
	_, err = encode("raw-telemetry", m)
	assert.ErrorContains(t, err, "tenant")
}

// TestRecordsKeepNaNAndReadLegacyJSON: a staleness marker and a NaN go
// through the topic bit for bit (JSON could not carry them), and a record
// an older gateway wrote as JSON is still read.
func TestRecordsKeepNaNAndReadLegacyJSON(t *testing.T) {
	m := &ingest.Message{Tenant: "t1", Samples: []domain.Sample{
		{Tenant: "t1", Name: "up", TimeUnixNano: 1, Value: math.Float64frombits(0x7ff0000000000002), Type: domain.MetricGauge},
		{Tenant: "t1", Name: "q", TimeUnixNano: 2, Value: math.NaN(), Type: domain.MetricGauge},
	}}
	recs, err := encode("raw-telemetry", m)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	got, err := decode(recs[0].Value)
	require.NoError(t, err)
	require.Len(t, got.Samples, 2)
	assert.True(t, domain.IsStaleMarker(got.Samples[0].Value))
	assert.True(t, math.IsNaN(got.Samples[1].Value))

	legacy := []byte(`{"v":1,"tenant":"t1","events":[{"Tenant":"t1","Service":"a","Kind":"log"}]}`)
	old, err := decode(legacy)
	require.NoError(t, err)
	require.Len(t, old.Events, 1)
	assert.Equal(t, "a", old.Events[0].Service)

	_, err = decode(recs[0].Value[:len(recs[0].Value)-3])
	assert.ErrorIs(t, err, errBadRecord, "a cut record is refused")
}

func FuzzDecode(f *testing.F) {
	for _, m := range []*ingest.Message{
		{Tenant: "t1", Events: []domain.Event{{Tenant: "t1", Service: "a", Kind: domain.KindSpan, TraceID: "t", SampleRate: 1}}},
		{Tenant: "t1", Samples: []domain.Sample{{Tenant: "t2", Name: "x"}}},
		{Tenant: ""},
	} {
		f.Add(ingest.EncodeMessage(nil, m))
	}
	f.Add([]byte(`{"v":1,"tenant":"t1","events":[{"Tenant":"t1","Service":"a"}]}`))
	f.Add([]byte(`{"v":1,"tenant":"t1","samples":[{"Tenant":"t2"}]}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil {
			return
		}
		if m.Tenant == "" {
			t.Fatal("a message without a tenant was accepted")
		}
		for _, e := range m.Events {
			if e.Tenant != m.Tenant {
				t.Fatal("an event of another tenant was accepted")
			}
		}
	})
}

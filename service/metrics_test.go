package service_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

func TestMetrics(t *testing.T) {
	r := newRig(t)
	var samples []domain.Sample
	for i := range 10 {
		for _, host := range []string{"a", "b"} {
			var l domain.Attrs
			l.Put("host", host)
			samples = append(samples, domain.Sample{Tenant: "t1", Name: "cpu_seconds", Labels: l, Type: domain.MetricGauge,
				TimeUnixNano: r.now.Add(-time.Duration(10-i) * time.Minute).UnixNano(), Value: float64(i)})
		}
	}
	require.NoError(t, r.store.WriteSamples(r.ctx, samples))
	viewer := as("val", auth.RoleViewer)

	names, err := r.svc.MetricNames(r.ctx, viewer, lastHour)
	require.NoError(t, err)
	assert.Equal(t, []string{"cpu_seconds"}, names)
	none, err := r.svc.MetricNames(r.ctx, of("t2", auth.RoleViewer), lastHour)
	require.NoError(t, err)
	assert.Empty(t, none, "another tenant's metrics are not there")

	series, err := r.svc.MetricSeries(r.ctx, viewer, service.MetricInput{Name: "cpu_seconds", Range: lastHour, Step: "1m",
		Matchers: []domain.LabelMatcher{{Name: "host", Op: domain.MatchEq, Value: "a"}}}, nil)
	require.NoError(t, err)
	require.Len(t, series, 1)
	assert.NotEmpty(t, series[0].Points)

	_, err = r.svc.MetricSeries(r.ctx, viewer, service.MetricInput{Name: "cpu_seconds", Range: lastHour, Step: "fortnightly"}, nil)
	require.ErrorIs(t, err, service.ErrInvalid)
	_, err = r.svc.MetricSeries(r.ctx, viewer, service.MetricInput{Range: lastHour}, str("rate(x[5m])"))
	require.ErrorIs(t, err, service.ErrInvalid)
	assert.Contains(t, err.Error(), "raw PromQL needs VictoriaMetrics", "the embedded store says what it answers instead")
}

// TestBubbleUp: the bad requests' attribute values against the rest, with
// a selection that is checked.
func TestBubbleUp(t *testing.T) {
	r := newRig(t)
	r.spans(40, 8)
	viewer := as("val", auth.RoleViewer)
	res, err := r.svc.BubbleUp(r.ctx, viewer, service.BubbleUpInput{Range: lastHour,
		Selection: []service.Filter{{Field: "status", Op: domain.OpEq, Value: str("error")}}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Fields, "%+v", res)
	var found bool
	for _, f := range res.Fields {
		for _, v := range f.Values {
			if f.Field == "attr.cloud.region" && v.Value == "eu-west" {
				found = true
			}
		}
	}
	assert.True(t, found, "the failing requests' region stands out: %+v", res.Fields)

	_, err = r.svc.BubbleUp(r.ctx, viewer, service.BubbleUpInput{Range: lastHour})
	require.ErrorIs(t, err, service.ErrInvalid, "a bubble-up needs a selection")
}

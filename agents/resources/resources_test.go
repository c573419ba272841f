package resources

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/storage"
)

// fakeSource serves fixed series of one metric.
type fakeSource struct {
	name   string
	series []storage.MetricSeries
}

func (f fakeSource) MetricNames(context.Context, string, storage.TimeRange) ([]string, error) {
	return []string{f.name}, nil
}

func (f fakeSource) MetricSeries(context.Context, storage.MetricQuery) ([]storage.MetricSeries, error) {
	return f.series, nil
}

// minutes makes a series of a service, a value a minute from t0.
func minutes(service string, t0 time.Time, values ...float64) storage.MetricSeries {
	s := storage.MetricSeries{Labels: storage.Attrs{Keys: []string{"job"}, Values: []string{service}}, Type: storage.MetricGauge}
	for i, v := range values {
		s.Points = append(s.Points, storage.MetricPoint{TimeUnixNano: t0.Add(time.Duration(i) * time.Minute).UnixNano(), Value: v})
	}
	return s
}

// TestFindingsTellPodsFromTheirNode: two services whose CPU series are the
// same to the last digit are reading their node, not themselves; an idle
// pod's blip of a thousandth of a core is judged against how much the
// metric wiggles in the system, not against its own flat line; the pod
// whose CPU really rose is found.
func TestFindingsTellPodsFromTheirNode(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	base := func(level, wiggle float64) []float64 {
		var out []float64
		for i := 0; i < 30; i++ {
			out = append(out, level+wiggle*float64(i%3))
		}
		return out
	}
	node := append(base(0.5, 0.01), 0.9, 0.95, 0.9)
	src := fakeSource{name: "k8s.pod.cpu.usage", series: []storage.MetricSeries{
		minutes("a", t0, node...),
		minutes("b", t0, node...),
		minutes("idle", t0, append(base(0.0014, 0.00001), 0.0031, 0.0026, 0.0021)...),
		minutes("busy", t0, append(base(0.2, 0.02), 0.25, 0.21, 0.22)...),
		minutes("hot", t0, append(base(0.1, 0.01), 0.9, 0.95, 0.97)...),
	}}
	res, err := Read(context.Background(), src, Input{Tenant: "t",
		Baseline: storage.TimeRange{Start: t0.UnixNano(), End: t0.Add(30 * time.Minute).UnixNano()},
		Window:   storage.TimeRange{Start: t0.Add(30 * time.Minute).UnixNano(), End: t0.Add(33 * time.Minute).UnixNano()}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Findings)
	assert.Equal(t, "hot", res.Findings[0].Service, "%+v", res.Findings)
	for _, f := range res.Findings {
		assert.NotContains(t, []string{"a", "b"}, f.Service, "a node's figure is no pod's finding")
		if f.Service == "idle" {
			assert.Less(t, f.Z, 3.0, "an idle pod's blip is not hundreds of σ")
		}
	}
	assert.True(t, res.Services["a"], "the node's pods are still services with metrics")
}

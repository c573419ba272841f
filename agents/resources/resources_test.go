package resources

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

// fakeSource serves fixed series of one metric.
type fakeSource struct {
	name   string
	series []domain.MetricSeries
	more   map[string][]domain.MetricSeries // other metrics
}

func (f fakeSource) MetricNames(context.Context, string, domain.TimeRange) ([]string, error) {
	names := []string{f.name}
	for n := range f.more {
		names = append(names, n)
	}
	return names, nil
}

func (f fakeSource) MetricSeries(_ context.Context, q domain.MetricQuery) ([]domain.MetricSeries, error) {
	if q.Name == f.name {
		return f.series, nil
	}
	return f.more[q.Name], nil
}

// minutes makes a series of a service, a value a minute from t0.
func minutes(service string, t0 time.Time, values ...float64) domain.MetricSeries {
	s := domain.MetricSeries{Labels: domain.Attrs{Keys: []string{"job"}, Values: []string{service}}, Type: domain.MetricGauge}
	for i, v := range values {
		s.Points = append(s.Points, domain.MetricPoint{TimeUnixNano: t0.Add(time.Duration(i) * time.Minute).UnixNano(), Value: v})
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
	src := fakeSource{name: "k8s.pod.cpu.usage", series: []domain.MetricSeries{
		minutes("a", t0, node...),
		minutes("b", t0, node...),
		minutes("idle", t0, append(base(0.0014, 0.00001), 0.0031, 0.0026, 0.0021)...),
		minutes("busy", t0, append(base(0.2, 0.02), 0.25, 0.21, 0.22)...),
		minutes("hot", t0, append(base(0.1, 0.01), 0.9, 0.95, 0.97)...),
	}}
	res, err := Read(context.Background(), src, Input{Tenant: "t",
		Baseline: domain.TimeRange{Start: t0.UnixNano(), End: t0.Add(30 * time.Minute).UnixNano()},
		Window:   domain.TimeRange{Start: t0.Add(30 * time.Minute).UnixNano(), End: t0.Add(33 * time.Minute).UnixNano()}})
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

// pod labels a series with its pod and version.
func pod(s domain.MetricSeries, name, version string) domain.MetricSeries {
	s.Labels = domain.Attrs{Keys: []string{"job", "k8s.pod.name", "service.version"}, Values: []string{s.Labels.Values[0], name, version}}
	return s
}

// TestNewInstances: a deploy starts a new pod of version 2.0 one minute
// into the window, beside the old pod of 1.9. The new pod's start-up CPU
// is not read as saturation; its latency, three times the old pod's over
// the same minutes, is found and names the version; and a new pod is
// judged against the service's earlier pods, not left out for having no
// past of its own.
func TestNewInstances(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	flat := func(v float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v + 0.01*v*float64(i%3)
		}
		return out
	}
	newPod := func(name string, values ...float64) domain.MetricSeries {
		s := minutes("pay", t0.Add(31*time.Minute), values...)
		return pod(s, "pay-new", "2.0")
	}
	src := fakeSource{
		name: "http.server.latency",
		series: []domain.MetricSeries{
			pod(minutes("pay", t0, flat(0.1, 36)...), "pay-old", "1.9"),
			newPod("latency", 0.2, 0.3, 0.31, 0.3, 0.29),
			pod(minutes("cart", t0, flat(0.05, 36)...), "cart-1", "3.1"),
		},
		more: map[string][]domain.MetricSeries{"k8s.pod.cpu.usage": {
			pod(minutes("pay", t0, flat(0.2, 36)...), "pay-old", "1.9"),
			newPod("cpu", 2.0, 1.8, 0.21, 0.2, 0.2), // start-up, then as the old one
			pod(minutes("cart", t0, flat(0.3, 36)...), "cart-1", "3.1"),
		}},
	}
	res, err := Read(context.Background(), src, Input{Tenant: "t",
		Baseline: domain.TimeRange{Start: t0.UnixNano(), End: t0.Add(30 * time.Minute).UnixNano()},
		Window:   domain.TimeRange{Start: t0.Add(30 * time.Minute).UnixNano(), End: t0.Add(36 * time.Minute).UnixNano()}})
	require.NoError(t, err)
	lat := res.Best("pay", Latency)
	require.NotNil(t, lat, "%+v", res.Findings)
	assert.Greater(t, lat.Strength, 0.8)
	assert.True(t, lat.Canary, "new against old over the same minutes: %+v", lat)
	assert.Equal(t, "2.0", lat.Version)
	assert.InDelta(t, 0.1, lat.Before, 0.01, "the old instances' figure")
	assert.InDelta(t, 0.3, lat.Now, 0.01, "the new instances' typical figure")
	cpu := res.Best("pay", CPU)
	require.NotNil(t, cpu, "the new pod's CPU is judged")
	assert.Less(t, cpu.Strength, 0.1, "start-up CPU (2 cores for two minutes) is no saturation: %+v", cpu)
	for _, f := range res.Findings {
		if f.Service == "cart" {
			assert.Less(t, f.Strength, 0.1, "nothing moved on cart: %+v", f)
		}
	}
}

// TestCPUHeadroom: two pods whose CPU usage rose fivefold; one sits at 4%
// of its limit, the other reaches 90%. Only the second is starved of CPU:
// the first's finding counts about half, a change in the pod but no
// starvation.
func TestCPUHeadroom(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	series := func(svc string, level float64) domain.MetricSeries {
		var v []float64
		for i := 0; i < 30; i++ {
			v = append(v, level*(1+0.02*float64(i%3)))
		}
		return minutes(svc, t0, append(v, 5*level, 5*level, 5*level)...)
	}
	src := fakeSource{name: "k8s.pod.cpu.usage", series: []domain.MetricSeries{series("idle", 0.004), series("hot", 0.1)},
		more: map[string][]domain.MetricSeries{"k8s.pod.cpu.utilization": {series("idle", 0.008), series("hot", 0.18)}}}
	res, err := Read(context.Background(), src, Input{Tenant: "t",
		Baseline: domain.TimeRange{Start: t0.UnixNano(), End: t0.Add(30 * time.Minute).UnixNano()},
		Window:   domain.TimeRange{Start: t0.Add(30 * time.Minute).UnixNano(), End: t0.Add(33 * time.Minute).UnixNano()}})
	require.NoError(t, err)
	idle, hot := res.Best("idle", CPU), res.Best("hot", CPU)
	require.NotNil(t, idle)
	require.NotNil(t, hot)
	assert.Greater(t, idle.Z, 3.0, "the idle pod's rise is as sure")
	assert.Less(t, idle.Strength, 0.6*hot.Strength, "at 4%% of its limit its rise counts about half")
	assert.InDelta(t, 0.54, headroom(0.04), 1e-9)
	assert.InDelta(t, 0.95, headroom(45), 1e-9, "a percentage is read as one")
	assert.Equal(t, 1.0, headroom(0.9))
	assert.Equal(t, "hot", res.Findings[0].Service)
}

package victoriametrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/storetest"
	"github.com/inquest/inquest/storage/victoriametrics"
)

func TestConformance(t *testing.T) {
	storetest.RunMetrics(t, func(t *testing.T) storage.MetricStore {
		// A server per subtest: VictoriaMetrics has no databases to keep
		// tests apart, and it starts in a fraction of a second.
		url, _ := storetest.StartVictoriaMetrics(t)
		s, err := victoriametrics.Open(context.Background(), victoriametrics.Config{URL: url}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func open(t *testing.T, cfg victoriametrics.Config) *victoriametrics.Store {
	t.Helper()
	url, _ := storetest.StartVictoriaMetrics(t)
	cfg.URL = url
	s, err := victoriametrics.Open(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sample(tenant, name string, at time.Time, v float64, labels ...string) domain.Sample {
	m := domain.Sample{Tenant: tenant, Name: name, TimeUnixNano: at.UnixNano(), Value: v, Type: domain.MetricCounter}
	for i := 0; i+1 < len(labels); i += 2 {
		m.Labels.Put(labels[i], labels[i+1])
	}
	m.SeriesID = m.ComputeSeriesID()
	return m
}

func TestRawPromQLStaysInTheTenant(t *testing.T) {
	s := open(t, victoriametrics.Config{MaxSamplesPerRequest: 7}) // several requests per write
	ctx := context.Background()
	at := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	var ms []domain.Sample
	for i := 0; i < 60; i++ {
		ts := at.Add(time.Duration(i) * time.Second)
		ms = append(ms,
			sample("tenant-a", "http.server.request.duration_count", ts, float64(i), "http.route", "/pay", "job", "payment"),
			// A sender cannot put its series into another tenant.
			sample("tenant-b", "http.server.request.duration_count", ts, 1000, "http.route", "/secret", victoriametrics.TenantLabel, "tenant-a"))
	}
	require.NoError(t, s.WriteSamples(ctx, ms))
	require.NoError(t, s.Flush(ctx))
	r := domain.TimeRange{Start: at.UnixNano(), End: at.Add(time.Minute).UnixNano()}

	for _, expr := range []string{
		`sum by (http.route) (increase({__name__="http.server.request.duration_count"}[1m]))`,
		`{inquest_tenant="tenant-b"}`,
		`{__name__=~".+", inquest_tenant!="tenant-a"}`,
	} {
		series, err := s.PromQL(ctx, "tenant-a", expr, r, 10*time.Second)
		require.NoError(t, err, expr)
		for _, ser := range series {
			route, _ := ser.Labels.Get("http.route")
			assert.Equal(t, "/pay", route, "%s: only tenant-a's series", expr)
			_, leaked := ser.Labels.Get(victoriametrics.TenantLabel)
			assert.False(t, leaked, "the tenant label is not shown")
		}
		if expr[0] == 's' {
			require.Len(t, series, 1)
		}
	}
	series, err := s.MetricSeries(ctx, domain.MetricQuery{Tenant: "tenant-a", Name: "http.server.request.duration_count", Range: r,
		Step: time.Minute, Func: domain.FuncLast, Matchers: []domain.LabelMatcher{{Name: "http.route", Op: domain.MatchEq, Value: "/pay"}}})
	require.NoError(t, err)
	require.Len(t, series, 1)
	assert.Equal(t, domain.MetricCounter, series[0].Type, "the type travels with the series")
	assert.Equal(t, 59.0, series[0].Points[0].Value)
	assert.Equal(t, at.UnixNano(), series[0].Points[0].TimeUnixNano, "labelled with the step's start")

	names, err := s.MetricNames(ctx, "tenant-b", r)
	require.NoError(t, err)
	assert.Equal(t, []string{"http.server.request.duration_count"}, names)

	_, err = s.PromQL(ctx, "tenant-a", "sum(rate(", r, time.Second)
	assert.ErrorIs(t, err, domain.ErrBadQuery, "a syntax error is the caller's")
	assert.ErrorContains(t, err, "unexpected token", "in the server's words")
	_, err = s.PromQL(ctx, "", "up", r, time.Second)
	assert.Error(t, err)
	_, err = s.MetricSeries(ctx, domain.MetricQuery{Tenant: "tenant-a", Name: "x", Range: r, GroupBy: []string{"a b"}})
	assert.ErrorContains(t, err, "cannot be grouped by")
}

func TestOpenErrors(t *testing.T) {
	_, err := victoriametrics.Open(context.Background(), victoriametrics.Config{URL: "localhost:8428"}, nil)
	assert.ErrorContains(t, err, "want http(s)://host:port")
	_, err = victoriametrics.Open(context.Background(), victoriametrics.Config{URL: fmt.Sprintf("http://127.0.0.1:%d", storetest.FreePort(t))}, nil)
	assert.ErrorContains(t, err, "victoriametrics at")
}

package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
)

// spansJSON renders n spans of service spread evenly over the last span
// of time, as NDJSON events; attrs are added to every span.
func spansJSON(service string, n int, span time.Duration, attrs string) []byte {
	var b strings.Builder
	now := time.Now()
	for i := 0; i < n; i++ {
		ts := now.Add(-span + time.Duration(i)*span/time.Duration(n))
		fmt.Fprintf(&b, `{"timestamp":%q,"kind":"span","service":%q,"name":"GET /","trace_id":"t%s%d","span_id":"s%d","duration_ms":3%s}`+"\n",
			ts.Format(time.RFC3339Nano), service, service, i, i, attrs)
	}
	return []byte(b.String())
}

// TestRequestRateOverCoveredTime: a service that has sent for 30 s, seen
// through a 15-minute range, runs at its real rate, not one diluted by
// the 14.5 minutes before it started.
func TestRequestRateOverCoveredTime(t *testing.T) {
	s := start(t)
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", spansJSON("svc-rate", 60, 30*time.Second, ""))
	require.Equal(t, http.StatusOK, code, msg)
	var resp struct {
		Services []struct {
			Name        string
			SpanCount   int
			RequestRate float64
		}
	}
	eventually(t, "spans stored", func() bool {
		s.gql.MustPost(`{ services(range: {from: "now-15m", to: "now"}) { name spanCount requestRate } }`, &resp)
		return len(resp.Services) == 1 && resp.Services[0].SpanCount == 60
	})
	assert.InDelta(t, 2.0, resp.Services[0].RequestRate, 0.2, "60 spans over 30 s")
}

// TestPartialBucketThroughCache: a bucketed aggregate answers the bucket
// filling now, marked partial, also through the query cache (which used to
// round the range's end down to the bucket and drop it).
func TestPartialBucketThroughCache(t *testing.T) {
	s := start(t, func(c *config.Config) { c.QueryCache = true })
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", spansJSON("svc-bucket", 5, time.Second, ""))
	require.Equal(t, http.StatusOK, code, msg)
	var resp struct {
		Aggregate struct {
			Groups []struct {
				Series []struct {
					Values  []*float64
					Partial bool
				}
			}
		}
	}
	eventually(t, "the hour filling now is answered", func() bool {
		s.gql.MustPost(`{ aggregate(input: {range: {from: "now-3h", to: "now"}, bucket: "1h", aggregations: [{op: COUNT}],
			filters: [{field: "service", op: EQ, value: "svc-bucket"}]}) { groups { series { values partial } } } }`, &resp)
		g := resp.Aggregate.Groups
		return len(g) == 1 && len(g[0].Series) > 0 && *g[0].Series[len(g[0].Series)-1].Values[0] == 5
	})
	series := resp.Aggregate.Groups[0].Series
	assert.True(t, series[len(series)-1].Partial, "the current hour is not complete")
}

// TestExternalServices: a peer.service with no spans of its own is an
// external node of the service map with its callers' figures, and not a
// service.
func TestExternalServices(t *testing.T) {
	s := start(t)
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson",
		spansJSON("svc-caller", 4, 10*time.Second, `,"peer.service":"ext-card-api","status":"error"`))
	require.Equal(t, http.StatusOK, code, msg)
	type node struct {
		Name       string
		SpanCount  int
		ErrorCount int
		External   bool
	}
	var sm struct {
		ServiceMap struct{ Nodes []node }
	}
	eventually(t, "edge to the peer", func() bool {
		s.gql.MustPost(`{ serviceMap(range: {from: "now-1h", to: "now"}) { nodes { name spanCount errorCount external } } }`, &sm)
		return len(sm.ServiceMap.Nodes) == 2
	})
	assert.Contains(t, sm.ServiceMap.Nodes, node{Name: "svc-caller", SpanCount: 4, ErrorCount: 4})
	assert.Contains(t, sm.ServiceMap.Nodes, node{Name: "ext-card-api", SpanCount: 4, ErrorCount: 4, External: true},
		"the peer's figures are its callers' client spans")
	var svcs struct{ Services []struct{ Name string } }
	s.gql.MustPost(`{ services(range: {from: "now-1h", to: "now"}) { name } }`, &svcs)
	assert.Equal(t, []struct{ Name string }{{"svc-caller"}}, svcs.Services)
}

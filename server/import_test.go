package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/ingest"
)

// TestImportZipkinServiceMap loads real production Zipkin traces recorded on
// 2018-11-30 (timestamps kept) and expects all 16 services in the service map.
func TestImportZipkinServiceMap(t *testing.T) {
	s := start(t, func(c *config.Config) { c.ServiceMapFoldInterval = 100 * time.Millisecond })
	var progressCalls, lastDone, lastTotal int
	res, format, err := ingest.ImportFile(context.Background(), s.Pipeline(), "default",
		"../ingest/zipkin/testdata/smartthings-mobile-web-install.json", func(done, total int) {
			progressCalls++
			lastDone, lastTotal = done, total
		})
	require.NoError(t, err)
	assert.Equal(t, ingest.FormatZipkinJSON, format)
	assert.Equal(t, 0, res.Rejected, res.Errors)
	assert.Equal(t, 953, res.Accepted, "1,041 spans less 88 fragments merged into their span")
	assert.Equal(t, lastTotal, lastDone)
	assert.Positive(t, progressCalls)

	r := map[string]any{"from": "2018-11-30T00:00:00Z", "to": "2018-12-01T00:00:00Z"}
	var sm struct {
		ServiceMap struct {
			Nodes []struct {
				Name      string
				SpanCount int
			}
			Edges []struct {
				Source, Target string
				Calls          int
			}
		}
	}
	eventually(t, "all spans stored", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { serviceMap(range: $r) { nodes { name spanCount } edges { source target calls } } }`,
			&sm, client.Var("r", r))
		total := 0
		for _, n := range sm.ServiceMap.Nodes {
			total += n.SpanCount
		}
		return total == 953
	})
	assert.Len(t, sm.ServiceMap.Nodes, 16)
	inEdges := map[string]bool{}
	for _, e := range sm.ServiceMap.Edges {
		inEdges[e.Source], inEdges[e.Target] = true, true
		assert.NotEqual(t, e.Source, e.Target)
	}
	assert.Len(t, inEdges, 16, "every service takes part in a call")
	t.Logf("%d edges over %d services", len(sm.ServiceMap.Edges), len(inEdges))

	// The imported minutes (of 2018) are folded once their writes settle,
	// and the map read from them is the one joined from the spans.
	require.Eventually(t, func() bool { return selfMetric(t, s.url("/metrics"), "inquest_service_map_folded_minutes_total") >= 1 },
		time.Minute, 100*time.Millisecond, "the imported minutes folded")
	live := sm.ServiceMap.Edges
	s.gql.MustPost(`query($r: TimeRangeInput!) { serviceMap(range: $r) { nodes { name spanCount } edges { source target calls } } }`,
		&sm, client.Var("r", r))
	assert.Equal(t, live, sm.ServiceMap.Edges, "the same map from the folded minutes")
}

// TestImportThroughServer sends a file to a running server as an import
// (what `inquest import --url` does): old timestamps are kept.
func TestImportThroughServer(t *testing.T) {
	s := start(t)
	answer, err := ingest.UploadFile(context.Background(), http.DefaultClient, "http://"+s.Addrs().HTTP, "default", "",
		"../ingest/zipkin/testdata/smartthings-mobile-web-install.json")
	require.NoError(t, err)
	assert.Contains(t, answer, `"format":"zipkin-json"`)
	assert.Contains(t, answer, `"accepted":953`)
	assert.Contains(t, answer, `"read":1041`)
	assert.Contains(t, answer, `"merged":88`)
	assert.Contains(t, answer, `"from":"2018-11-30T03:45:24Z"`)
	// Without the import header the same 2018 data is refused as too old.
	code, msg, _ := post(t, s.url("/v1/ingest"), "application/json", []byte(`[{"traceId":"a","id":"1","name":"x","timestamp":1543549524565942,"localEndpoint":{"serviceName":"s"}}]`))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, msg, "older than the retention")

	_, err = ingest.UploadFile(context.Background(), http.DefaultClient, "http://"+s.Addrs().HTTP, "default", "", "no-such-file.json")
	assert.Error(t, err)
}

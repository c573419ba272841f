package zipkin

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

// A client span in web, the shared server span in api with the same ID, a
// child of the server in api and a late fragment with a tag.
const shared = `[
 {"traceId":"a","id":"1","name":"get /","kind":"SERVER","timestamp":1000000,"duration":900,"localEndpoint":{"serviceName":"web"}},
 {"traceId":"a","parentId":"1","id":"2","name":"get /api","kind":"CLIENT","timestamp":1000100,"duration":500,"localEndpoint":{"serviceName":"web"},"remoteEndpoint":{"serviceName":"api"}},
 {"traceId":"a","parentId":"1","id":"2","name":"get /api","kind":"SERVER","shared":true,"timestamp":1000150,"duration":400,"localEndpoint":{"serviceName":"api","ipv4":"10.0.0.1","port":8080},"tags":{"error":"boom"}},
 {"traceId":"a","parentId":"2","id":"3","name":"select","kind":"CLIENT","timestamp":1000200,"duration":100,"localEndpoint":{"serviceName":"api"},"remoteEndpoint":{"serviceName":"mysql"}},
 {"traceId":"a","id":"3","localEndpoint":{"serviceName":"api"},"tags":{"db.rows":"12"}},
 {"traceId":"a","id":"4","name":"","timestamp":1000300,"localEndpoint":{"serviceName":"api"}},
 {"traceId":"a","id":"5","localEndpoint":{"serviceName":"api"}},
 {"traceId": 12}
]`

func TestSharedSpansAndFragments(t *testing.T) {
	res, err := Decode([]byte(shared))
	require.NoError(t, err)
	byName := map[string]domain.Event{}
	for _, e := range res.Events {
		byName[e.Service+" "+e.Name] = e
	}
	require.Len(t, res.Events, 5)
	require.Len(t, res.Rejected, 2)
	assert.Contains(t, res.Rejected[0].Reason, "zipkin span")
	assert.Equal(t, "zipkin span without timestamp", res.Rejected[1].Reason)

	client, server := byName["web get /api"], byName["api get /api"]
	assert.Equal(t, "0000000000000002", client.SpanID)
	assert.Equal(t, client.SpanID, server.ParentSpanID, "the shared server span hangs under its client")
	assert.NotEqual(t, client.SpanID, server.SpanID)
	assert.Equal(t, domain.StatusError, server.Status)
	assert.Equal(t, int64(1_000_150_000), server.TimeUnixNano, "microseconds to nanoseconds")
	assert.Equal(t, int64(400_000), server.DurationNano)
	ip, _ := server.Resource.Get("host.ip")
	assert.Equal(t, "10.0.0.1", ip)

	query := byName["api select"]
	assert.Equal(t, server.SpanID, query.ParentSpanID, "children of the server are re-parented onto it")
	rows, _ := query.NumAttrs.Get("db.rows")
	assert.Equal(t, 12.0, rows, "the late fragment's tag is merged")
	peer, _ := query.Attrs.Get("peer.service")
	assert.Equal(t, "mysql", peer)
	assert.Contains(t, byName, "api unknown", "unnamed spans are called unknown")
}

func TestRealTraces(t *testing.T) {
	body, err := os.ReadFile("testdata/smartthings-mobile-web-install.json")
	require.NoError(t, err)
	res, err := Decode(body)
	require.NoError(t, err)
	assert.Len(t, res.Events, 953)
	assert.Empty(t, res.Rejected)
	services := map[string]bool{}
	ids := map[string]bool{}
	for _, e := range res.Events {
		services[e.Service] = true
		assert.False(t, ids[e.SpanID], "span IDs are unique after shared spans get their own")
		ids[e.SpanID] = true
	}
	assert.Len(t, services, 16)
}

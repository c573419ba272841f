package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
)

const tailQuery = `subscription { tail(filters: [{field: "service", op: EQ, value: "svc-tail"}, {field: "attr.n", op: GE, value: "2"}]) { service name attributes { key value } } }`

// sendTailEvents posts three matching-service events (two pass the
// filter) and one of another service. Safe to call from any goroutine.
func sendTailEvents(s *testServer) error {
	var lines []string
	for i := 1; i <= 3; i++ {
		lines = append(lines, fmt.Sprintf(`{"service": "svc-tail", "name": "tick-%d", "n": %d}`, i, i))
	}
	lines = append(lines, `{"service": "other", "name": "tick-9", "n": 9}`)
	resp, err := http.Post(s.url("/v1/events"), "application/x-ndjson", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("post events: %s", resp.Status)
	}
	return nil
}

// The gqlgen client speaks the graphql-ws (subscriptions-transport-ws)
// protocol over a real websocket.
func TestTailGraphQLWS(t *testing.T) {
	s := start(t)
	sub := s.gql.Websocket(tailQuery)
	defer sub.Close()
	// The server registers the subscription asynchronously: keep sending
	// until events arrive.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			_ = sendTailEvents(s)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	for range 2 {
		var msg struct {
			Tail struct {
				Service, Name string
				Attributes    []struct{ Key, Value string }
			}
		}
		require.NoError(t, next(t, sub, &msg))
		assert.Equal(t, "svc-tail", msg.Tail.Service)
		assert.Contains(t, []string{"tick-2", "tick-3"}, msg.Tail.Name, "filters applied")
	}
}

// graphql-transport-ws, the protocol of graphql-ws and most current clients.
func TestTailGraphQLTransportWS(t *testing.T) {
	s := start(t)
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := dialer.Dial("ws://"+s.Addrs().HTTP+"/graphql", nil)
	require.NoError(t, err)
	defer conn.Close()
	resp.Body.Close()
	require.Equal(t, "graphql-transport-ws", conn.Subprotocol())
	require.NoError(t, conn.WriteJSON(map[string]any{"type": "connection_init"}))
	var ack struct{ Type string }
	require.NoError(t, conn.ReadJSON(&ack))
	require.Equal(t, "connection_ack", ack.Type)
	require.NoError(t, conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": tailQuery}}))
	// The subscription is registered asynchronously; keep sending until
	// the first message arrives.
	got := make(chan string, 8)
	go func() {
		for {
			var m struct {
				Type    string
				Payload struct {
					Data struct{ Tail struct{ Name string } }
				}
			}
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			if err := conn.ReadJSON(&m); err != nil {
				close(got)
				return
			}
			if m.Type == "next" {
				got <- m.Payload.Data.Tail.Name
			}
		}
	}()
	deadline := time.After(20 * time.Second)
	for {
		require.NoError(t, sendTailEvents(s))
		select {
		case name, ok := <-got:
			require.True(t, ok, "connection closed")
			assert.Contains(t, []string{"tick-2", "tick-3"}, name)
			require.NoError(t, conn.WriteJSON(map[string]any{"id": "1", "type": "complete"}))
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no event over graphql-transport-ws")
		}
	}
}

// tailSSE opens the tail subscription over SSE and streams its lines; the
// channel closes when the stream ends.
func tailSSE(ctx context.Context, t *testing.T, s *testServer) <-chan string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": tailQuery})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url("/graphql"), strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done(): // the test stopped reading
				return
			}
		}
	}()
	return lines
}

func TestTailSSE(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lines := tailSSE(ctx, t, s)
	for {
		require.NoError(t, sendTailEvents(s))
		select {
		case l, ok := <-lines:
			require.True(t, ok, "stream ended")
			if strings.HasPrefix(l, "data: ") {
				assert.Contains(t, l, `"service":"svc-tail"`)
				return
			}
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no event over SSE")
		}
	}
}

func TestGraphQLErrors(t *testing.T) {
	s := start(t)
	var out map[string]any
	cases := []struct{ query, want string }{
		{`{ aggregate(input: {range: {from: "yesterday", to: "now"}}) { columns } }`, "want RFC3339"},
		{`{ aggregate(input: {range: {from: "now", to: "now-1h"}}) { columns } }`, "must be before"},
		{`{ aggregate(input: {range: {from: "now-1h", to: "now"}, groupBy: ["colour"]}) { columns } }`, `unknown field \"colour\"`},
		{`{ aggregate(input: {range: {from: "now-1h", to: "now"}, aggregations: [{op: P99, field: "service"}]}) { columns } }`, "not numeric"},
		{`{ aggregate(input: {range: {from: "now-1h", to: "now"}, aggregations: [{op: SUM}]}) { columns } }`, "needs a field"},
		{`{ aggregate(input: {range: {from: "now-1h", to: "now"}, bucket: "1ms"}) { columns } }`, "buckets"},
		{`{ aggregate(input: {range: {from: "now-1h", to: "now"}, filters: [{field: "duration_ms", op: GT, value: "fast"}]}) { columns } }`, "not a number"},
		{`{ aggregate(input: {range: {from: "now-1h", to: "now"}, filters: [{field: "service", op: EQ}]}) { columns } }`, "value is required"},
		{`{ events(range: {from: "now-1h", to: "now"}, first: 5000) { events { id } } }`, "first must be between"},
		{`{ events(range: {from: "now-1h", to: "now"}, after: "garbage!") { events { id } } }`, "not a cursor"},
		{`{ metricSeries(input: {name: "x", range: {from: "now-1h", to: "now"}, step: "soon"}) { name } }`, "want a duration"},
		{`{ nosuchfield }`, "Cannot query field"},
		{`{ services(range: {from: "now-60d", to: "now"}) { name } }`, "longer than the limit of 744h0m0s"},
		{`{ incidents(range: {from: "now-1h", to: "now"}, status: stuck) { id } }`, `does not exist in \"IncidentStatus\" enum`},
		{`{ services(range: {from: 17, to: "now"}) { name } }`, "a time is a string"},
		{`query { trace(id: "x") { spans { span { attributes { key } } } } } fragment F on Trace { spans { span { resource { key } } } }`, "is never used"},
	}
	for _, c := range cases {
		err := s.gql.Post(c.query, &out)
		require.Error(t, err, c.query)
		assert.Contains(t, err.Error(), c.want, c.query)
		assert.NotContains(t, err.Error(), "SELECT", "no SQL in errors")
	}
}

func TestDepthLimit(t *testing.T) {
	s := start(t, func(c *config.Config) { c.MaxQueryDepth = 3 })
	var out map[string]any
	// trace → spans → span is 3 levels: allowed.
	require.NoError(t, s.gql.Post(`{ trace(id: "x") { spans { depth } } }`, &out))
	// trace → spans → span → attributes → key is 5, directly or through fragments.
	for _, q := range []string{
		`{ trace(id: "x") { spans { span { attributes { key } } } } }`,
		`{ trace(id: "x") { ...T } } fragment T on Trace { spans { ... on TraceSpan { span { attributes { key } } } } }`,
	} {
		err := s.gql.Post(q, &out)
		require.Error(t, err, q)
		assert.Contains(t, err.Error(), "nested 5 levels deep, more than the limit of 3")
	}
}

// TestStandardIntrospection sends graphql-js's standard introspection query,
// as GraphiQL and code generators do, to a server with the default limits:
// it is answered in full, while an introspection query that walks from
// type to type (the shape that makes a schema answer megabytes) is refused
// by introspection's own rule (gqlparser's, as graphql-js's).
func TestStandardIntrospection(t *testing.T) {
	s := start(t)
	q, err := os.ReadFile("testdata/introspection.graphql")
	require.NoError(t, err)
	var out struct {
		Schema struct {
			QueryType struct{ Name string }
			Types     []struct {
				Name   string
				Fields []struct{ Name string }
			}
		} `json:"__schema"`
	}
	resp, err := s.gql.RawPost(string(q))
	require.NoError(t, err)
	require.Empty(t, resp.Errors, "%s", resp.Errors)
	data, err := json.Marshal(resp.Data) // the client's own decoder refuses fields the struct leaves out
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &out))
	assert.Equal(t, "Query", out.Schema.QueryType.Name)
	var query []string
	for _, ty := range out.Schema.Types {
		if ty.Name == "Query" {
			for _, f := range ty.Fields {
				query = append(query, f.Name)
			}
		}
	}
	assert.Contains(t, query, "incidents")
	assert.Greater(t, len(out.Schema.Types), 50)

	var m map[string]any
	err = s.gql.Post(`{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`, &m)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Maximum introspection depth exceeded")
	// User queries keep their own depth limit.
	err = s.gql.Post(`{ __type(name: "Query") { name } trace(id: "x") { spans { span { attributes { key } } } } }`, &m)
	require.NoError(t, err, "5 levels is within the default")
}

func TestEventsPagination(t *testing.T) {
	s := start(t)
	var lines []string
	base := time.Now().Add(-time.Minute)
	for i := range 25 {
		lines = append(lines, fmt.Sprintf(`{"timestamp": %q, "service": "svc-page", "name": "e%02d"}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), i))
	}
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(strings.Join(lines, "\n")))
	require.Equal(t, http.StatusOK, code, msg)
	eventually(t, "stored", func() bool { return s.count(t, eq("service", "svc-page")) == 25 })
	var names []string
	var after *string
	for {
		var resp struct {
			Events struct {
				Events   []struct{ Name string }
				PageInfo struct {
					EndCursor   *string
					HasNextPage bool
				}
			}
		}
		s.gql.MustPost(`query($r: TimeRangeInput!, $after: String) { events(range: $r, first: 10, after: $after,
			filters: [{field: "service", op: EQ, value: "svc-page"}]) { events { name } pageInfo { endCursor hasNextPage } } }`,
			&resp, client.Var("r", lastHour), client.Var("after", after))
		for _, e := range resp.Events.Events {
			names = append(names, e.Name)
		}
		if !resp.Events.PageInfo.HasNextPage {
			break
		}
		after = resp.Events.PageInfo.EndCursor
	}
	require.Len(t, names, 25)
	assert.Equal(t, "e24", names[0], "newest first")
	assert.Equal(t, "e00", names[24])
}

func TestBucketedAggregate(t *testing.T) {
	s := start(t)
	base := time.Now().Truncate(time.Minute).Add(-3 * time.Minute)
	var lines []string
	for m := range 3 {
		for i := 0; i <= m; i++ {
			lines = append(lines, fmt.Sprintf(`{"timestamp": %q, "service": "svc-bucket", "name": "op", "region": "eu", "latency_ms": %d}`,
				base.Add(time.Duration(m)*time.Minute+time.Duration(i)*time.Second).Format(time.RFC3339Nano), 10*(i+1)))
		}
	}
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(strings.Join(lines, "\n")))
	require.Equal(t, http.StatusOK, code, msg)
	eventually(t, "stored", func() bool { return s.count(t, eq("service", "svc-bucket")) == 6 })
	var resp struct {
		Aggregate struct {
			BucketSeconds float64
			Groups        []struct {
				Key    []string
				Series []struct{ Values []float64 }
			}
		}
	}
	s.gql.MustPost(`query($r: TimeRangeInput!) { aggregate(input: {range: $r, bucket: "1m", groupBy: ["attr.region"],
		filters: [{field: "service", op: EQ, value: "svc-bucket"}],
		aggregations: [{op: COUNT}, {op: MAX, field: "attr.latency_ms"}]}) { bucketSeconds groups { key series { values } } } }`,
		&resp, client.Var("r", map[string]any{"from": base.Format(time.RFC3339), "to": base.Add(3 * time.Minute).Format(time.RFC3339)}))
	assert.Equal(t, 60.0, resp.Aggregate.BucketSeconds)
	require.Len(t, resp.Aggregate.Groups, 1)
	g := resp.Aggregate.Groups[0]
	assert.Equal(t, []string{"eu"}, g.Key)
	require.Len(t, g.Series, 3)
	for m, p := range g.Series {
		assert.Equal(t, []float64{float64(m + 1), float64(10 * (m + 1))}, p.Values)
	}
}

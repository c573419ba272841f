package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// loadShop stores the shop's 240 events (two services, two minutes) and
// waits until they are readable.
func loadShop(b *testing.B, s *testServer) {
	resp, err := http.Post(s.url("/v1/events"), "application/x-ndjson", bytes.NewReader([]byte(shopEvents(time.Now().UTC()))))
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("ingest: %v %v", err, resp)
	}
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out struct{ Aggregate struct{ Groups []any } }
		if s.gql.Post(`{ aggregate(input: {range: {from: "now-1h", to: "now"}, groupBy: ["service"]}) { groups { key } } }`, &out) == nil && len(out.Aggregate.Groups) == 2 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the events were not stored")
		}
		time.Sleep(50 * time.Millisecond) // polling the store with a deadline
	}
}

// BenchmarkMCPToolCall is one MCP tools/call of aggregate (p99 by region
// of checkout) over streamable HTTP on loopback, through mcp-go's client:
// what Claude Code waits for per call, the store's query included.
func BenchmarkMCPToolCall(b *testing.B) {
	s := startB(b)
	loadShop(b, s)
	c, err := mcpclient.NewStreamableHttpClient(s.url("/mcp"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
		b.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "aggregate"
	req.Params.Arguments = map[string]any{"filters": []map[string]any{{"field": "service", "value": "checkout"}},
		"group_by": []string{"attr.region"}, "aggregations": []map[string]any{{"op": "p99", "field": "duration_ms"}}}
	b.ResetTimer()
	for b.Loop() {
		res, err := c.CallTool(ctx, req)
		if err != nil || res.IsError {
			b.Fatalf("call: %v %v", err, res)
		}
	}
}

// BenchmarkAsk is one ask through GraphQL answered by the parser: the
// service names read, the question parsed, the aggregate run, the answer
// written with its table and chart.
func BenchmarkAsk(b *testing.B) {
	s := startB(b)
	loadShop(b, s)
	var out struct {
		Ask struct {
			Answer string
			Table  struct{ Rows [][]string }
			Chart  struct{ Kind string }
		}
	}
	b.ResetTimer()
	for b.Loop() {
		s.gql.MustPost(`{ ask(question: "p99 latency of checkout by region over the last hour") { answer table { rows } chart { kind } } }`, &out)
	}
	b.StopTimer()
	if raw, _ := json.Marshal(out); !bytes.Contains(raw, []byte("eu")) {
		b.Fatalf("the answer names no region: %s", raw)
	}
}

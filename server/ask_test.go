package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
)

type askResult struct {
	Question, Interpretation, Answer string
	Understood                       bool
	Suggestions                      []string
	Model                            *string
	ToolCalls                        []struct {
		Name, Arguments string
		Result, Error   *string
	}
	Table *struct {
		Columns []string
		Rows    [][]string
	}
	Chart *struct {
		Kind   string
		Series []struct {
			Name   string
			Points []struct {
				X string
				Y float64
			}
		}
	}
}

const askFields = `question interpretation answer understood suggestions model toolCalls { name arguments result error } table { columns rows } chart { kind series { name points { x y } } }`

// shopEvents are two minutes of checkout and payment spans: eu slow and
// failing through stripe_v3, us fast.
func shopEvents(now time.Time) string {
	var b strings.Builder
	for i := range 120 {
		region, provider, dur, status := "us", "adyen", 40+i%20, "ok"
		if i%3 == 0 {
			region, provider, dur = "eu", "stripe_v3", 900+i
			if i%2 == 0 {
				status = "error"
			}
		}
		at := now.Add(-time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		fmt.Fprintf(&b, `{"timestamp": %q, "service": "checkout", "name": "POST /checkout", "duration_ms": %d, "status": %q, "region": %q, "payment_provider": %q, "trace_id": "tr%d", "span_id": "a%d"}`+"\n",
			at, dur, status, region, provider, i, i)
		fmt.Fprintf(&b, `{"timestamp": %q, "service": "payment", "name": "Charge", "duration_ms": %d, "status": %q, "trace_id": "tr%d", "span_id": "b%d", "parent_span_id": "a%d"}`+"\n",
			at, dur-10, status, i, i, i)
	}
	return b.String()
}

// TestAskFollowUps: a conversation through GraphQL. The follow-up "and its
// p50?" keeps the service, the grouping-free reading and the window of the
// question before and says how it was read; "only in eu" narrows it;
// another person holding the same conversation id gets none of it.
func TestAskFollowUps(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	now := time.Now().UTC()
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(shopEvents(now)), "Authorization", "Bearer "+tokenFor(t, "shop", "ci", "ingest"))
	require.Equal(t, http.StatusOK, code, msg)
	type answer struct {
		Conversation, Interpretation, Answer string
		ToolCalls                            []struct{ Arguments string }
	}
	ask := func(who, q, conv string) answer {
		var out struct{ Ask answer }
		s.gql.MustPost(`query($q: String!, $c: ID) { ask(question: $q, conversation: $c) { conversation interpretation answer toolCalls { arguments } } }`, &out,
			client.Var("q", q), client.Var("c", conv), client.AddHeader("Authorization", "Bearer "+tokenFor(t, "shop", who, "viewer")))
		return out.Ask
	}
	var first answer
	eventually(t, "the events are stored", func() bool {
		first = ask("vera", "p99 latency of checkout over the last hour", "")
		return strings.Contains(first.Answer, "checkout")
	})
	require.NotEmpty(t, first.Conversation, "an answer names its conversation")
	next := ask("vera", "and its p50?", first.Conversation)
	assert.Equal(t, first.Conversation, next.Conversation)
	assert.Contains(t, next.Interpretation, "p50 latency of checkout over the last 1h")
	assert.Contains(t, next.Interpretation, "a follow-up")
	assert.Contains(t, next.ToolCalls[0].Arguments, `"service"`)
	assert.Contains(t, next.ToolCalls[0].Arguments, `"p50"`)

	narrowed := ask("vera", "only in eu", first.Conversation)
	assert.Contains(t, narrowed.Interpretation, "checkout")

	other := ask("otto", "and its p50?", first.Conversation)
	assert.NotContains(t, other.Interpretation, "checkout", "a conversation is its asker's")
}

// TestAskBox: plain questions through GraphQL, answered by the parser
// over the tool registry with the asker's rights: a latency breakdown
// (bars by region, the tool call and its arguments shown), an error rate,
// what the failures share, a question it does not understand (with close
// matches), and a viewer's "why" that would start an investigation. The
// same answer streams on askStream, step by step.
func TestAskBox(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	now := time.Now().UTC()
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(shopEvents(now)), "Authorization", "Bearer "+tokenFor(t, "shop", "ci", "ingest"))
	require.Equal(t, http.StatusOK, code, msg)
	viewer := client.AddHeader("Authorization", "Bearer "+tokenFor(t, "shop", "vera", "viewer"))
	ask := func(q string) askResult {
		var out struct{ Ask askResult }
		s.gql.MustPost(`query($q: String!) { ask(question: $q) { `+askFields+` } }`, &out, client.Var("q", q), viewer)
		return out.Ask
	}
	var a askResult
	eventually(t, "the events are stored and the ask box reads them", func() bool {
		a = ask("p99 latency of Checkout by region over the last hour")
		return a.Table != nil && len(a.Table.Rows) == 2
	})
	assert.True(t, a.Understood)
	assert.Equal(t, "p99 latency of checkout by attr.region over the last 1h", a.Interpretation)
	require.Len(t, a.ToolCalls, 1)
	assert.Equal(t, "aggregate", a.ToolCalls[0].Name)
	assert.Contains(t, a.ToolCalls[0].Arguments, `"group_by":["attr.region"]`)
	assert.Regexp(t, `eu 1\d{3}ms, us \d{2}(\.\d)?ms \[1\]`, a.Answer)
	require.NotNil(t, a.Chart)
	assert.Equal(t, "bar", a.Chart.Kind)

	a = ask("eror rate of checkout in the last 30 minutes")
	assert.Equal(t, "aggregate", a.ToolCalls[0].Name)
	assert.Regexp(t, `Error rate of checkout over the last 30m: 16\.7 % \(20 failed of 120 requests\) \[1\]`, a.Answer)
	require.NotNil(t, a.Chart)
	assert.Equal(t, "line", a.Chart.Kind, "bucketed over time")

	a = ask("which customers see errors in checkout?")
	require.Equal(t, "bubble_up", a.ToolCalls[0].Name)
	assert.Contains(t, a.Answer, "attr.payment_provider = stripe_v3 is 100 %")

	a = ask("what's the weather in Paris")
	assert.False(t, a.Understood)
	assert.Empty(t, a.ToolCalls)
	assert.Len(t, a.Suggestions, 3)
	assert.Contains(t, a.Answer, "did not understand")

	a = ask("why is checkout slow?")
	require.Len(t, a.ToolCalls, 2)
	assert.Equal(t, "list_incidents", a.ToolCalls[0].Name)
	assert.Equal(t, "start_investigation", a.ToolCalls[1].Name)
	require.NotNil(t, a.ToolCalls[1].Error)
	assert.Contains(t, *a.ToolCalls[1].Error, "forbidden", "a viewer's question cannot start an investigation")
	assert.Contains(t, a.Answer, "No investigation could be started")

	err := s.gql.Post(`{ ask(question: "") { answer } }`, &struct{}{}, viewer)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ask a question")

	sub := s.gql.WebsocketWithPayload(`subscription { askStream(question: "slowest endpoints today") { kind text toolCall { name } result { answer table { rows } } } }`,
		map[string]any{"Authorization": "Bearer " + tokenFor(t, "shop", "vera", "viewer")})
	defer sub.Close()
	var kinds []string
	for {
		var step struct {
			AskStream struct {
				Kind, Text string
				ToolCall   *struct{ Name string }
				Result     *struct {
					Answer string
					Table  struct{ Rows [][]string }
				}
			}
		}
		require.NoError(t, next(t, sub, &step))
		kinds = append(kinds, step.AskStream.Kind)
		if step.AskStream.Kind == "answer" {
			require.NotNil(t, step.AskStream.Result)
			assert.Contains(t, step.AskStream.Result.Answer, "POST /checkout")
			assert.Len(t, step.AskStream.Result.Table.Rows, 2)
			break
		}
	}
	assert.Equal(t, []string{"interpretation", "tool_call", "tool_result", "answer"}, kinds)
}

// TestAskWithModel: with a language model configured, the ask box is a
// tool-calling agent. An in-test server speaks OpenAI's chat-completions
// wire format: it asks for the aggregate tool, then answers citing the
// result. The request shapes are checked (tools offered, read-only only;
// the tool's result sent back under its call id).
func TestAskWithModel(t *testing.T) {
	var mu sync.Mutex
	var requests []map[string]any
	llm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		mu.Lock()
		requests = append(requests, req)
		n := len(requests)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if n == 1 {
			// A model that reaches for a tool it was not offered.
			_, _ = w.Write([]byte(`{"id": "c0", "object": "chat.completion", "model": "test", "choices": [{"index": 0, "finish_reason": "tool_calls",
				"message": {"role": "assistant", "content": "", "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "approve_proposal",
				"arguments": "{\"id\": \"prop-x\"}"}}]}}], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}`))
			return
		}
		if n == 2 {
			_, _ = w.Write([]byte(`{"id": "c1", "object": "chat.completion", "model": "test", "choices": [{"index": 0, "finish_reason": "tool_calls",
				"message": {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "aggregate",
				"arguments": "{\"filters\": [{\"field\": \"service\", \"value\": \"checkout\"}], \"group_by\": [\"attr.region\"], \"aggregations\": [{\"op\": \"p99\", \"field\": \"duration_ms\"}]}"}}]}}],
				"usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id": "c2", "object": "chat.completion", "model": "test", "choices": [{"index": 0, "finish_reason": "stop",
			"message": {"role": "assistant", "content": "Checkout is slow in eu only: its p99 is about a second there and under 100 ms in us [1]."}}],
			"usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}`))
	}))
	defer llm.Close()
	s := start(t, func(c *config.Config) {
		c.LLMProvider, c.LLMModel, c.LLMBaseURL = "openai", "test-model", llm.URL
	})
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(shopEvents(time.Now().UTC())))
	require.Equal(t, http.StatusOK, code, msg)
	eventually(t, "the events are stored", func() bool {
		var out struct{ Aggregate struct{ Groups []any } }
		s.gql.MustPost(`{ aggregate(input: {range: {from: "now-1h", to: "now"}, groupBy: ["service"]}) { groups { key } } }`, &out)
		return len(out.Aggregate.Groups) == 2
	})
	var out struct{ Ask askResult }
	s.gql.MustPost(`{ ask(question: "why is checkout slow for some users?") { `+askFields+` } }`, &out)
	a := out.Ask
	require.NotNil(t, a.Model)
	assert.Equal(t, "openai/test-model", *a.Model)
	assert.Equal(t, "Checkout is slow in eu only: its p99 is about a second there and under 100 ms in us [1].", a.Answer)
	require.Len(t, a.ToolCalls, 1)
	assert.Equal(t, "aggregate", a.ToolCalls[0].Name)
	require.NotNil(t, a.ToolCalls[0].Result)
	assert.Contains(t, *a.ToolCalls[0].Result, `"attr.region":"eu"`)
	require.NotNil(t, a.Table, "the data behind the answer")

	require.Len(t, requests, 3)
	tools, _ := requests[0]["tools"].([]any)
	var offered []string
	for _, tool := range tools {
		offered = append(offered, tool.(map[string]any)["function"].(map[string]any)["name"].(string))
	}
	assert.Contains(t, offered, "aggregate")
	assert.Contains(t, offered, "bubble_up")
	assert.NotContains(t, offered, "approve_proposal", "the ask box never decides")
	msgs, _ := requests[1]["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)
	assert.Equal(t, "call_0", last["tool_call_id"])
	assert.Contains(t, last["content"], "approve_proposal is not one of the tools offered", "a tool not offered does not run")
	msgs, _ = requests[2]["messages"].([]any)
	last = msgs[len(msgs)-1].(map[string]any)
	assert.Equal(t, "tool", last["role"])
	assert.Equal(t, "call_1", last["tool_call_id"])
	assert.Contains(t, last["content"], `[1] {"columns"`)
}

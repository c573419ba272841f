package rca_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/rca"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/llm"
)

// chatServer speaks OpenAI's chat-completions wire format: it records
// each request and answers with the next of answers.
type chatServer struct {
	mu       sync.Mutex
	requests []map[string]any
	answers  []string
}

func (c *chatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.requests = append(c.requests, req)
	answer := c.answers[0]
	c.answers = c.answers[1:]
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": req["model"],
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": answer}}},
		"usage":   map[string]any{"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
	})
}

func investigation() *domain.Investigation {
	return &domain.Investigation{Tenant: "t1", ID: "inv-1", Hypotheses: []domain.Hypothesis{
		{Service: "payment", Cause: domain.CauseBadDeploy, Confidence: 0.9, Evidence: []domain.Evidence{
			{Kind: "change", Text: "payment: deploy 2.3.1 (was 2.3.0), 2s before the onset", Strength: 1},
			{Kind: "bubbleup", Text: "payment's slow requests: attr.payment_provider=stripe_v3 in 98% of them vs 25% before", Strength: 0.7}}},
		{Service: "postgres", Cause: domain.CauseDependencyFailure, Confidence: 0.4, Evidence: []domain.Evidence{
			{Kind: "latency", Text: "postgres's own time per span rose from 3 ms to 9 ms", Strength: 0.4}}},
	}}
}

// TestNarrateThroughOpenAIWire runs the real langchaingo client against a
// server speaking OpenAI's format: an answer that cites real evidence is
// kept (and may reorder); one that cites evidence that does not exist,
// ranks a service that is no hypothesis, cites nothing or is not JSON is
// refused.
func TestNarrateThroughOpenAIWire(t *testing.T) {
	chat := &chatServer{answers: []string{
		"```json\n{\"summary\": \"postgres slowed first [E2.1], then payment's deploy [E1.1] made stripe_v3 charges slow [E1.2].\", \"order\": [\"postgres\", \"payment\"]}\n```",
		`{"summary": "payment's deploy [E1.1] and a database failover [E3.1].", "order": ["payment"]}`,
		`{"summary": "checkout did it [E1.1].", "order": ["checkout", "payment"]}`,
		`{"summary": "payment's deploy.", "order": ["payment"]}`,
		`I think it was payment.`,
	}}
	srv := httptest.NewServer(chat)
	defer srv.Close()
	m, err := llm.New(llm.Config{Provider: "openai", Model: "test-model", BaseURL: srv.URL + "/v1", APIKey: "secret"})
	require.NoError(t, err)
	ctx := context.Background()

	n, err := rca.Narrate(ctx, m, investigation(), 0)
	require.NoError(t, err)
	assert.Contains(t, n.Text, "[E1.2]")
	assert.Equal(t, []string{"postgres", "payment"}, n.Order)
	assert.Equal(t, "openai/test-model", n.Model)
	hs := rca.Reorder(investigation().Hypotheses, n.Order)
	assert.Equal(t, "postgres", hs[0].Service)

	for _, want := range []string{"cites E3.1, which does not exist", `ranks "checkout", which is no hypothesis`, "cites no evidence", "not the JSON asked for"} {
		_, err := rca.Narrate(ctx, m, investigation(), 0)
		require.Error(t, err, want)
		assert.Contains(t, err.Error(), want)
	}

	require.Len(t, chat.requests, 5)
	req := chat.requests[0]
	assert.Equal(t, "test-model", req["model"])
	raw, _ := json.Marshal(req["messages"])
	assert.Contains(t, string(raw), "E1.2 (bubbleup, strength 0.70): payment's slow requests: attr.payment_provider=stripe_v3")
	assert.Contains(t, string(raw), "do not invent")
}

// TestPromptKeepsToItsBudget: the evidence given to a model stops at the
// budget, strongest hypotheses first.
func TestPromptKeepsToItsBudget(t *testing.T) {
	inv := investigation()
	for i := 0; i < 200; i++ {
		inv.Hypotheses[1].Evidence = append(inv.Hypotheses[1].Evidence, domain.Evidence{Kind: "log", Text: strings.Repeat("x", 200)})
	}
	p := rca.Prompt(inv, 500)
	assert.LessOrEqual(t, llm.Tokens(p), 500)
	assert.Contains(t, p, "E1.1")
}

// fixed answers with a fixed text.
type fixed string

func (f fixed) Complete(context.Context, string, string) (string, error) { return string(f), nil }
func (fixed) Name() string                                               { return "fixed" }

// FuzzNarrate: whatever a model answers, Narrate does not panic, and what
// it keeps ranks only hypotheses and cites only evidence that exists.
func FuzzNarrate(f *testing.F) {
	for _, s := range []string{`{"summary": "x [E1.1]", "order": ["payment"]}`, `{"summary": "[E2.1][E1.2]", "order": []}`,
		`{"summary": "E9.9", "order": ["payment"]}`, `{}`, `{"summary": 1}`, "```json\n{\"summary\":\"[E1.1]\"}\n```", `}{`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, answer string) {
		inv := investigation()
		n, err := rca.Narrate(context.Background(), fixed(answer), inv, 0)
		if err != nil {
			return
		}
		services := map[string]bool{"payment": true, "postgres": true}
		if len(n.Order) != 2 {
			t.Fatalf("order %v is not the two hypotheses", n.Order)
		}
		for _, s := range n.Order {
			if !services[s] {
				t.Fatalf("kept an order with %q", s)
			}
		}
		if !strings.Contains(n.Text, "E") {
			t.Fatalf("kept a narrative citing nothing: %q", n.Text)
		}
	})
}

package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	fail   int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	r.bodies = append(r.bodies, b)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

var incident = domain.Incident{Tenant: "t1", ID: "i1", Title: "payment: p99 latency 1.90 s (expected 70 ms); also checkout",
	Severity: "high", Status: domain.IncidentOpen, Services: []string{"payment", "checkout"}, OpenedNano: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC).UnixNano()}

func TestWebhookAndSlackWithDedup(t *testing.T) {
	hook, slack := &receiver{fail: 1}, &receiver{}
	hs, ss := httptest.NewServer(hook), httptest.NewServer(slack)
	defer hs.Close()
	defer ss.Close()
	d := NewDispatcher(Config{PublicURL: "https://inquest.example.com/"}, []Notifier{
		&Webhook{URL: hs.URL, Client: hs.Client()}, &Slack{URL: ss.URL, Client: ss.Client()}}, nil, nil)
	require.NoError(t, d.Start(context.Background()))
	defer func() { require.NoError(t, d.Shutdown(context.Background())) }()

	d.Notify(incident, "opened")
	d.Notify(incident, "opened")    // the same again: dropped
	d.Notify(incident, "escalated") // same status within 5 min: rate-limited
	resolved := incident
	resolved.Status = domain.IncidentResolved
	d.Notify(resolved, "resolved") // a status change always goes out
	require.Eventually(t, func() bool { return hook.count() == 2 && slack.count() == 2 }, 10*time.Second, 10*time.Millisecond)

	var p WebhookPayload
	require.NoError(t, json.Unmarshal(hook.bodies[0], &p))
	assert.Equal(t, "opened", p.Reason)
	assert.Equal(t, []string{"payment", "checkout"}, p.Services)
	assert.Equal(t, "https://inquest.example.com/#incident=i1", p.URL)

	var msg struct {
		Text   string
		Blocks []map[string]any
	}
	require.NoError(t, json.Unmarshal(slack.bodies[0], &msg))
	assert.Contains(t, msg.Text, "payment")
	require.Len(t, msg.Blocks, 3)
	assert.Equal(t, "header", msg.Blocks[0]["type"])
	assert.Contains(t, string(slack.bodies[0]), "*Services*\\npayment, checkout")
	assert.Contains(t, string(slack.bodies[0]), `"url":"https://inquest.example.com/#incident=i1"`)
	assert.Contains(t, string(slack.bodies[1]), "resolved")
}

func TestQueueFullDoesNotBlock(t *testing.T) {
	d := NewDispatcher(Config{Queue: 1}, []Notifier{&Webhook{URL: "http://127.0.0.1:1", Client: http.DefaultClient}}, nil, nil)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			d.Notify(incident, "opened")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Notify blocked on a full queue")
	}
}

// TestProposalEscalationIsTold: an escalated proposal reaches the
// webhook (with the proposal and who it now waits for) and Slack, and is
// not held back by the incident's own rate limit.
func TestProposalEscalationIsTold(t *testing.T) {
	hook, slack := &receiver{}, &receiver{}
	hs, ss := httptest.NewServer(hook), httptest.NewServer(slack)
	defer hs.Close()
	defer ss.Close()
	d := NewDispatcher(Config{}, []Notifier{&Webhook{URL: hs.URL, Client: hs.Client()}, &Slack{URL: ss.URL, Client: ss.Client()}}, nil, nil)
	require.NoError(t, d.Start(context.Background()))
	defer func() { require.NoError(t, d.Shutdown(context.Background())) }()
	d.Notify(incident, "opened")
	p := domain.Proposal{Tenant: "t1", ID: "prop-1", IncidentID: "i1", Action: "rollback", Target: "payment", Risk: "medium", Status: "pending",
		History: []domain.ProposalEvent{{Kind: "proposed"}, {Kind: "escalated", Text: "nobody decided in time: now for the high tier's approvers"}}}
	d.NotifyProposal(p, "proposal_escalated")
	require.Eventually(t, func() bool { return hook.count() == 2 && slack.count() == 2 }, 10*time.Second, 10*time.Millisecond)
	var got WebhookPayload
	require.NoError(t, json.Unmarshal(hook.bodies[1], &got))
	assert.Equal(t, "proposal_escalated", got.Reason)
	require.NotNil(t, got.Proposal)
	assert.Equal(t, "prop-1", got.Proposal.ID)
	assert.Contains(t, got.Proposal.Text, "high tier's approvers")
	assert.Contains(t, string(slack.bodies[1]), "Proposal escalated: rollback payment (medium risk)")
}

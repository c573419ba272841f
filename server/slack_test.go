package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
)

const slackSecret = "slack-signing-secret-for-tests"

// slackPress is the signed form Slack posts when user presses a button.
func slackPress(responseURL, user, action, proposal string, at time.Time, secret string) (string, http.Header) {
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]string{"id": user},
		"actions":      []map[string]string{{"action_id": action, "block_id": "proposal", "value": proposal, "type": "button"}},
		"response_url": responseURL, "trigger_id": "trigger-1"})
	body := "payload=" + url.QueryEscape(string(payload))
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:%s", ts, body)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	return body, h
}

// slack posts an interaction to /slack/interactions and returns the status.
func (s *testServer) slack(t *testing.T, body string, h http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url("/slack/interactions"), strings.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// responseURL stands in for a Slack message's response URL: what Inquest
// said to it, in order.
func responseURL(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var said []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Text            string
			ReplaceOriginal bool `json:"replace_original"`
		}
		_ = json.NewDecoder(r.Body).Decode(&msg)
		mu.Lock()
		said = append(said, msg.Text)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), said...)
	}
}

// TestSlackApprovals: Slack's buttons decide through the same service
// call as GraphQL. A missing or wrong signature, a request older than
// five minutes and a replayed one get 401 and change nothing; the
// proposer and a responder without the level are refused in the message;
// a team lead's press approves and the message says so.
func TestSlackApprovals(t *testing.T) {
	responses, said := responseURL(t)
	s := start(t, func(c *config.Config) {
		c.AuthJWTSecret, c.SlackSigningSecret = jwtSecret, slackSecret
		c.SlackUsers = []string{"UCAROL=carol:responder,approver:team-lead", "UALICE=alice:responder,approver:vp", "UBOB=bob:responder"}
	})
	pendingRollback(t, s.Store(), "default", "prop-slack", "alice")
	send := func(body string, h http.Header) int { return s.slack(t, body, h) }
	last := func() string {
		all := said()
		if len(all) == 0 {
			return ""
		}
		return all[len(all)-1]
	}
	now := time.Now()
	body, h := slackPress(responses.URL, "UCAROL", "approve", "prop-slack", now, slackSecret)
	noSig := h.Clone()
	noSig.Del("X-Slack-Signature")
	assert.Equal(t, http.StatusUnauthorized, send(body, noSig), "no signature")
	_, wrong := slackPress(responses.URL, "UCAROL", "approve", "prop-slack", now, "another secret")
	assert.Equal(t, http.StatusUnauthorized, send(body, wrong), "a wrong signature")
	old, oldH := slackPress(responses.URL, "UCAROL", "approve", "prop-slack", now.Add(-6*time.Minute), slackSecret)
	assert.Equal(t, http.StatusUnauthorized, send(old, oldH), "older than five minutes")
	p, err := s.Store().Proposal(context.Background(), "default", "prop-slack")
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalPending, p.Status, "refused requests change nothing")

	b, hh := slackPress(responses.URL, "UALICE", "approve", "prop-slack", now, slackSecret)
	require.Equal(t, http.StatusOK, send(b, hh))
	assert.Contains(t, last(), "nobody approves their own proposal")
	b, hh = slackPress(responses.URL, "UBOB", "approve", "prop-slack", now, slackSecret)
	require.Equal(t, http.StatusOK, send(b, hh))
	assert.Contains(t, last(), "team-lead")
	b, hh = slackPress(responses.URL, "UNOBODY", "approve", "prop-slack", now, slackSecret)
	require.Equal(t, http.StatusOK, send(b, hh))
	assert.Contains(t, last(), "not known to Inquest")

	require.Equal(t, http.StatusOK, send(body, h))
	eventually(t, "the approval, then the execution's end, told in the message", func() bool {
		return strings.Contains(last(), "prop-slack executed by carol: rollback payment is now succeeded")
	})
	assert.Contains(t, strings.Join(said(), "\n"), "prop-slack approved by carol: rollback payment is now approved")
	assert.Equal(t, http.StatusUnauthorized, send(body, h), "the same request replayed")
	p, err = s.Store().Proposal(context.Background(), "default", "prop-slack")
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalSucceeded, p.Status)
	require.Len(t, p.Approvals, 1)
	assert.Equal(t, "slack", p.Approvals[0].Channel)

	var log struct {
		AuditLog []struct{ Actor, Action, Outcome, Detail string }
	}
	s.gql.MustPost(`{ auditLog(range: {from: "now-1h", to: "now+1m"}) { actor action outcome detail } }`, &log,
		client.AddHeader("Authorization", "Bearer "+tokenFor(t, "default", "root", "admin")))
	var details []string
	for _, e := range log.AuditLog {
		if e.Outcome == "refused" {
			details = append(details, e.Actor+" "+e.Detail)
		}
	}
	joined := strings.Join(details, "\n")
	for _, want := range []string{"no Slack signature", "wrong Slack signature", "older than five minutes", "replayed",
		"alice slack: not allowed: nobody approves", "bob slack: not allowed", "an unknown Slack user"} {
		assert.Contains(t, joined, want)
	}
}

// TestSlackAnswersBeforeASlowExecutor: Slack wants its answer within three
// seconds; an approval whose webhook executor does not answer until the
// test lets it is answered at once, the proposal already approved, and the
// message is updated when the execution ends.
func TestSlackAnswersBeforeASlowExecutor(t *testing.T) {
	release := make(chan struct{})
	called := make(chan struct{}, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case called <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer hook.Close()
	letGo := sync.OnceFunc(func() { close(release) })
	defer letGo() // before the hook closes, whatever failed
	responses, said := responseURL(t)
	s := start(t, func(c *config.Config) {
		c.AuthJWTSecret, c.SlackSigningSecret = jwtSecret, slackSecret
		c.SlackUsers = []string{"UCAROL=carol:responder,approver:team-lead"}
		c.RemediationExecutor, c.RemediationWebhookURL, c.RemediationWebhookSecret = "webhook", hook.URL, "test-secret"
	})
	pendingRollback(t, s.Store(), "default", "prop-slow", "alice")
	body, h := slackPress(responses.URL, "UCAROL", "approve", "prop-slow", time.Now(), slackSecret)
	req, err := http.NewRequest(http.MethodPost, s.url("/slack/interactions"), strings.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	answered := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case <-called:
	case <-time.After(30 * time.Second):
		t.Fatal("the executor was never called")
	}
	// The executor is holding the webhook; the interaction must already be
	// answered (Slack's limit is 3 s: the answer does not wait for it).
	select {
	case code := <-answered:
		assert.Equal(t, http.StatusOK, code)
	case <-time.After(3 * time.Second):
		t.Fatal("the interaction waited for the executor")
	}
	p, err := s.Store().Proposal(context.Background(), "default", "prop-slow")
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalExecuting, p.Status, "decided in the request, executing after it")
	letGo()
	eventually(t, "the message tells the execution's end", func() bool {
		all := said()
		return len(all) > 0 && strings.Contains(all[len(all)-1], "prop-slow executed by carol")
	})
	p, err = s.Store().Proposal(context.Background(), "default", "prop-slow")
	require.NoError(t, err)
	assert.NotEqual(t, domain.ProposalFailed, p.Status, "the request's end did not cancel the execution: %+v", p.Execution)
}

// slackAPI stands in for Slack's Web API (chat.postMessage) and a
// message's response URL, and keeps what Inquest sent them.
type slackAPI struct {
	*httptest.Server
	mu      sync.Mutex
	posts   []slackPost
	replies []string
}

// slackPost is a chat.postMessage call as Slack receives it: a form with
// the bot token, the channel, fallback text and Block Kit blocks.
type slackPost struct {
	Token, Channel, Text string
	Blocks               []struct {
		Type     string
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string
			ActionID string `json:"action_id"`
			Value    string
		}
	}
}

func newSlackAPI(t *testing.T) *slackAPI {
	api := &slackAPI{}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/chat.postMessage":
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			p := slackPost{Token: r.Form.Get("token"), Channel: r.Form.Get("channel"), Text: r.Form.Get("text")}
			if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				p.Token = tok
			}
			if err := json.Unmarshal([]byte(r.Form.Get("blocks")), &p.Blocks); err != nil {
				_, _ = w.Write([]byte(`{"ok": false, "error": "invalid_blocks"}`))
				return
			}
			api.mu.Lock()
			api.posts = append(api.posts, p)
			api.mu.Unlock()
			_, _ = fmt.Fprintf(w, `{"ok": true, "channel": %q, "ts": "1700000000.000100"}`, p.Channel)
		case "/response":
			var msg struct{ Text string }
			_ = json.NewDecoder(r.Body).Decode(&msg)
			api.mu.Lock()
			api.replies = append(api.replies, msg.Text)
			api.mu.Unlock()
		default:
			_, _ = w.Write([]byte(`{"ok": false, "error": "unknown_method"}`))
		}
	}))
	t.Cleanup(api.Close)
	return api
}

// button is the action of the posted message for proposal id, if posted.
func (api *slackAPI) button(id, action string) (slackPost, bool) {
	api.mu.Lock()
	defer api.mu.Unlock()
	for _, p := range api.posts {
		for _, b := range p.Blocks {
			for _, e := range b.Elements {
				if e.Type == "button" && e.ActionID == action && e.Value == id {
					return p, true
				}
			}
		}
	}
	return slackPost{}, false
}

// approveOnSlack waits for the proposal's message in the channel and
// presses its Approve button as a team lead would: a signed interaction,
// answered through the response URL with the outcome.
func approveOnSlack(t *testing.T, s *testServer, api *slackAPI, id string) {
	var post slackPost
	eventually(t, "the pending proposal is posted to Slack with Approve and Reject buttons", func() bool {
		var ok bool
		post, ok = api.button(id, "approve")
		_, rejectable := api.button(id, "reject")
		return ok && rejectable
	})
	assert.Equal(t, "xoxb-test", post.Token)
	assert.Equal(t, "C0INCIDENTS", post.Channel)
	assert.Contains(t, post.Blocks[0].Type, "section")

	body, h := slackPress(api.URL+"/response", "UCAROL", "approve", id, time.Now(), slackSecret)
	req, err := http.NewRequest(http.MethodPost, s.url("/slack/interactions"), strings.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// Decided in the request, executed after it: the message says so
	// twice, the second time when the rollback has run.
	for _, want := range []string{id + " approved by carol: rollback payment is now approved", id + " executed by carol: rollback payment is now "} {
		eventually(t, "the Slack message says "+want, func() bool {
			api.mu.Lock()
			defer api.mu.Unlock()
			for _, r := range api.replies {
				if strings.Contains(r, want) {
					return true
				}
			}
			return false
		})
	}
}

// TestSlackReplayAfterRestart: the replay guard is kept in the store, so a
// signed request captured before a restart is still a replay after it,
// within its five minutes.
func TestSlackReplayAfterRestart(t *testing.T) {
	responses, _ := responseURL(t)
	cfg := testConfig(t, func(c *config.Config) {
		c.AuthJWTSecret, c.SlackSigningSecret = jwtSecret, slackSecret
		c.SlackUsers = []string{"UBOB=bob:responder"}
	})
	body, h := slackPress(responses.URL, "UBOB", "approve", "prop-none", time.Now(), slackSecret)
	first := startWith(t, cfg)
	require.Equal(t, http.StatusOK, first.slack(t, body, h), "taken once")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, first.Shutdown(ctx))

	again := startWith(t, cfg) // the same data directory
	assert.Equal(t, http.StatusUnauthorized, again.slack(t, body, h), "the same signed request after a restart is a replay")
}

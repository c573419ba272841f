package slackapp

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
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

// slackExample is the signed request of Slack's documentation
// (api.slack.com/authentication/verifying-requests-from-slack).
const (
	exampleSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	exampleTimestamp = "1531420618"
	exampleSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	exampleBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)

// sign is Slack's request signature: v0= and the hex HMAC-SHA256 of
// "v0:timestamp:body" under the signing secret.
func sign(secret, ts, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:%s", ts, body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// signed are the headers of a request signed at t.
func signed(secret string, t time.Time, body string) http.Header {
	ts := strconv.FormatInt(t.Unix(), 10)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", sign(secret, ts, body))
	return h
}

// TestVerify: the signing this test does is Slack's (its documented
// example is reproduced), and verify — slack-go's verifier, the app's
// clock, the replay guard — takes a fresh signed request once and refuses
// a replay, a stale one, a changed body and an unsigned one.
func TestVerify(t *testing.T) {
	require.Equal(t, exampleSignature, sign(exampleSecret, exampleTimestamp, exampleBody), "Slack's documented example")

	now := time.Now()
	a := New(Config{SigningSecret: []byte(exampleSecret)}, nil, nil)
	a.SetClock(func() time.Time { return now.Add(time.Minute) })
	h := signed(exampleSecret, now, exampleBody)
	require.NoError(t, a.verify(context.Background(), h, []byte(exampleBody)))
	assert.ErrorContains(t, a.verify(context.Background(), h, []byte(exampleBody)), "replayed", "the same request again")

	b := New(Config{SigningSecret: []byte(exampleSecret)}, nil, nil)
	b.SetClock(func() time.Time { return now.Add(6 * time.Minute) })
	assert.ErrorContains(t, b.verify(context.Background(), h, []byte(exampleBody)), "older than five minutes")
	b.SetClock(func() time.Time { return now })
	assert.ErrorContains(t, b.verify(context.Background(), h, []byte(exampleBody+"x")), "wrong Slack signature")
	other := New(Config{SigningSecret: []byte("another secret")}, nil, nil)
	assert.ErrorContains(t, other.verify(context.Background(), h, []byte(exampleBody)), "wrong Slack signature")
	stale := signed(exampleSecret, now.Add(-10*time.Minute), exampleBody)
	assert.ErrorContains(t, b.verify(context.Background(), stale, []byte(exampleBody)), "older than five minutes")
	h.Del("X-Slack-Signature")
	assert.ErrorContains(t, b.verify(context.Background(), h, []byte(exampleBody)), "no Slack signature")
}

// TestPostsPendingProposal: a pending proposal is posted once, with the
// bot token, Block Kit text and Approve/Reject buttons carrying its ID.
func TestPostsPendingProposal(t *testing.T) {
	var mu sync.Mutex
	var got []url.Values
	var auth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		mu.Lock()
		got = append(got, r.PostForm)
		auth = r.Header.Get("Authorization")
		mu.Unlock()
		assert.Equal(t, "/chat.postMessage", r.URL.Path)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C1", "ts": "1.2"})
	}))
	defer api.Close()
	a := New(Config{BotToken: "xoxb-test", Channel: "C1", APIURL: api.URL}, nil, nil)
	p := domain.Proposal{ID: "prop-1", Action: "rollback", Target: "payment", Risk: domain.RiskMedium, Status: domain.ProposalPending,
		Rationale: "payment 2.3.1 is slow", Expected: "p99 back", History: []domain.ProposalEvent{{Kind: "proposed"}}}
	a.Post(context.Background(), p)
	p.History = append(p.History, domain.ProposalEvent{Kind: "approval"})
	a.Post(context.Background(), p) // a later change is not posted again
	p.History = append(p.History, domain.ProposalEvent{Kind: "escalated", Text: "nobody decided in time: now for the high tier's approvers"})
	a.Post(context.Background(), p) // an escalation is, for the next approvers
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2)
	assert.Contains(t, got[1].Get("blocks"), "Escalated")
	assert.True(t, auth == "Bearer xoxb-test" || got[0].Get("token") == "xoxb-test", "the bot token is sent (header %q, form %q)", auth, got[0].Get("token"))
	assert.Equal(t, "C1", got[0].Get("channel"))
	var blocks []map[string]any
	require.NoError(t, json.Unmarshal([]byte(got[0].Get("blocks")), &blocks))
	require.Len(t, blocks, 2)
	raw, _ := json.Marshal(blocks)
	assert.Contains(t, string(raw), `"action_id":"approve"`)
	assert.Contains(t, string(raw), `"action_id":"reject"`)
	assert.Contains(t, string(raw), `"value":"prop-1"`)
	assert.Contains(t, string(raw), "rollback payment")
}

// TestReplayAcrossReplicas: with a shared first-seen check, a request
// taken by one replica is a replay on another.
func TestReplayAcrossReplicas(t *testing.T) {
	var mu sync.Mutex
	shared := map[string]bool{}
	firstSeen := func(_ context.Context, key string, _ time.Duration) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if shared[key] {
			return false, nil
		}
		shared[key] = true
		return true, nil
	}
	now := time.Now()
	h := signed(exampleSecret, now, exampleBody)
	one := New(Config{SigningSecret: []byte(exampleSecret), FirstSeen: firstSeen}, nil, nil)
	two := New(Config{SigningSecret: []byte(exampleSecret), FirstSeen: firstSeen}, nil, nil)
	require.NoError(t, one.verify(context.Background(), h, []byte(exampleBody)))
	assert.ErrorContains(t, two.verify(context.Background(), h, []byte(exampleBody)), "replayed")
}

func TestParseUsers(t *testing.T) {
	users, err := ParseUsers([]string{"U1=carol:responder,approver:team-lead", "U2=acme/dan:viewer"})
	require.NoError(t, err)
	assert.Equal(t, User{Tenant: "default", Subject: "carol", Roles: []string{"responder", "approver:team-lead"}}, users["U1"])
	assert.Equal(t, "acme", users["U2"].Tenant)
	_, err = ParseUsers([]string{"U1carol"})
	assert.Error(t, err)
}

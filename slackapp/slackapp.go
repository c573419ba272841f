// Package slackapp is the Slack face of the approval flow: a pending
// proposal is posted to a channel with Approve and Reject buttons (Block
// Kit, chat.postMessage with the bot token), and the buttons' interactions
// come back to POST /slack/interactions, where Slack's request signature
// is verified (v0, HMAC-SHA256 of "v0:timestamp:body" with the signing
// secret; older than five minutes, or seen before, is refused), the Slack
// user is mapped to an Inquest person and their approver levels, and the
// same service call as GraphQL's decides. The message is then updated
// with the outcome through the interaction's response_url.
package slackapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// User is who a Slack user is in Inquest.
type User struct {
	Tenant, Subject string
	Roles           []string
}

// Config configures the app.
type Config struct {
	BotToken      string
	SigningSecret []byte
	Channel       string
	// APIURL is Slack's Web API base (https://slack.com/api/); tests point
	// it at their own server.
	APIURL string
	// Users maps Slack user IDs to Inquest people; anyone else is refused.
	Users map[string]User
	// FirstSeen, when set, tells whether a signature is seen for the
	// first time across every replica (Redis SET NX with a TTL), so that a
	// replay landing on another replica is refused too; without it each
	// process remembers what it saw.
	FirstSeen func(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// App posts proposals and takes the interactions.
type App struct {
	cfg    Config
	svc    *service.Service
	client *slack.Client
	http   *http.Client
	logger *slog.Logger
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // signatures taken, for five minutes

	// Executions approved through Slack run after the answer, under
	// running's context, which Shutdown ends; wg waits for them.
	running context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// ExecutionTimeout bounds an execution started from Slack.
const ExecutionTimeout = 5 * time.Minute

// New makes the app.
func New(cfg Config, svc *service.Service, logger *slog.Logger) *App {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts := []slack.Option{slack.OptionHTTPClient(&http.Client{Timeout: 15 * time.Second})}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(strings.TrimSuffix(cfg.APIURL, "/")+"/"))
	}
	running, stop := context.WithCancel(context.Background())
	return &App{cfg: cfg, svc: svc, client: slack.New(cfg.BotToken, opts...), http: &http.Client{Timeout: 10 * time.Second},
		logger: logger, now: time.Now, seen: map[string]time.Time{}, running: running, stop: stop}
}

// Shutdown waits for the executions started from Slack to end, and past
// ctx's end cancels them (an executor told to stop marks its proposal
// failed, and the audit says so). Idempotent.
func (a *App) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		a.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		a.stop()
		<-done
		return ctx.Err()
	}
}

// SetClock makes the app judge a request's freshness by now (tests of
// stale and replayed requests).
func (a *App) SetClock(now func() time.Time) { a.now = now }

// Post posts a pending proposal to the channel when it is proposed, and
// again when it is escalated (for the next tier's approvers); other
// changes are not posted.
func (a *App) Post(ctx context.Context, p domain.Proposal) {
	if p.Status != domain.ProposalPending || len(p.History) == 0 || a.cfg.Channel == "" {
		return
	}
	last := p.History[len(p.History)-1]
	if len(p.History) != 1 && last.Kind != "escalated" {
		return
	}
	text := fmt.Sprintf("*%s %s* (%s risk) — %s\nExpected: %s", p.Action, p.Target, p.Risk, p.Rationale, p.Expected)
	if last.Kind == "escalated" {
		text = "*Escalated* — " + last.Text + "\n" + text
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil),
		slack.NewActionBlock("proposal",
			slack.NewButtonBlockElement("approve", p.ID, slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement("reject", p.ID, slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false)).WithStyle(slack.StyleDanger)),
	}
	if _, _, err := a.client.PostMessageContext(ctx, a.cfg.Channel, slack.MsgOptionText(p.Action+" "+p.Target, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		a.logger.Warn("slack: proposal not posted", "proposal", p.ID, "err", err)
	}
}

// maxAge is how old a signed request may be.
const maxAge = 5 * time.Minute

// verify checks Slack's signature of a request and that it is fresh and
// not seen before.
func (a *App) verify(ctx context.Context, h http.Header, body []byte) error {
	ts, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return fmt.Errorf("no Slack signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad Slack timestamp")
	}
	now := a.now()
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return fmt.Errorf("the request is older than five minutes")
	}
	// The signature is checked by slack-go's verifier (which also refuses
	// a timestamp five minutes off the wall clock); the freshness above is
	// on the app's own clock, and the replay guard below is ours.
	sv, err := slack.NewSecretsVerifier(h, string(a.cfg.SigningSecret))
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		return fmt.Errorf("wrong Slack signature")
	}
	if a.cfg.FirstSeen != nil {
		first, err := a.cfg.FirstSeen(ctx, "slack:"+sig, 2*maxAge)
		if err != nil {
			return fmt.Errorf("replays cannot be checked: %v", err)
		}
		if !first {
			return fmt.Errorf("the request was replayed")
		}
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, at := range a.seen {
		if now.Sub(at) > 2*maxAge {
			delete(a.seen, k)
		}
	}
	if _, ok := a.seen[sig]; ok {
		return fmt.Errorf("the request was replayed")
	}
	a.seen[sig] = now
	return nil
}

// ServeHTTP takes Slack's interactions: button presses and the reject
// dialog's submission.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	if err := a.verify(r.Context(), r.Header, body); err != nil {
		a.refused(r.Context(), "", err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "no interaction payload", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "bad interaction payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	user, ok := a.cfg.Users[cb.User.ID]
	if !ok {
		a.refused(r.Context(), cb.User.ID, "an unknown Slack user")
		a.respond(r.Context(), cb.ResponseURL, fmt.Sprintf("<@%s> is not known to Inquest: ask an admin to map your Slack user", cb.User.ID))
		w.WriteHeader(http.StatusOK)
		return
	}
	p := service.Principal{Principal: auth.Principal{Subject: user.Subject, Tenant: user.Tenant, Roles: user.Roles}}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		a.action(r.Context(), p, cb)
	case slack.InteractionTypeViewSubmission:
		a.submission(r.Context(), p, cb)
	}
	w.WriteHeader(http.StatusOK)
}

func (a *App) action(ctx context.Context, p service.Principal, cb slack.InteractionCallback) {
	if len(cb.ActionCallback.BlockActions) == 0 {
		return
	}
	act := cb.ActionCallback.BlockActions[0]
	switch act.ActionID {
	case "approve":
		// Slack wants its answer within three seconds and an executor may
		// take thirty: the approval is decided here, and what it approves
		// runs after the answer, the message updated when it ends.
		pr, err := a.svc.DecideApproval(ctx, p, "slack", act.Value, "", nil)
		a.respond(ctx, cb.ResponseURL, outcome(p.Subject, "approved", act.Value, pr, err))
		if err == nil && pr.Status == domain.ProposalApproved {
			a.execute(p, act.Value, cb.ResponseURL)
		}
	case "reject":
		// The reason is asked for in a dialog; its submission rejects.
		view := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "reject", PrivateMetadata: act.Value + "\n" + cb.ResponseURL,
			Title:  slack.NewTextBlockObject(slack.PlainTextType, "Reject the proposal", false, false),
			Submit: slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false),
			Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("reason", slack.NewTextBlockObject(slack.PlainTextType, "Why?", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "reason"))}}}
		if _, err := a.client.OpenViewContext(ctx, cb.TriggerID, view); err != nil {
			a.logger.Warn("slack: reject dialog not opened", "err", err)
		}
	}
}

// execute runs an approved proposal in the background and updates the
// message with how it ended.
func (a *App) execute(p service.Principal, id, responseURL string) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(a.running, ExecutionTimeout)
		defer cancel()
		pr, err := a.svc.ExecuteProposal(ctx, p, "slack", id)
		// The message is updated even when the execution was cut short.
		a.respond(context.WithoutCancel(ctx), responseURL, outcome(p.Subject, "executed", id, pr, err))
	}()
}

func (a *App) submission(ctx context.Context, p service.Principal, cb slack.InteractionCallback) {
	if cb.View.CallbackID != "reject" {
		return
	}
	id, responseURL, _ := strings.Cut(cb.View.PrivateMetadata, "\n")
	reason := ""
	if cb.View.State != nil {
		reason = cb.View.State.Values["reason"]["reason"].Value
	}
	pr, err := a.svc.RejectProposal(ctx, p, "slack", id, reason)
	a.respond(ctx, responseURL, outcome(p.Subject, "rejected", id, pr, err))
}

// outcome is the message's new text.
func outcome(who, verb, id string, p *domain.Proposal, err error) string {
	if err != nil {
		return fmt.Sprintf("%s could not be %s by %s: %v", id, verb, who, err)
	}
	return fmt.Sprintf("%s %s by %s: %s %s is now %s", id, verb, who, p.Action, p.Target, p.Status)
}

// respond replaces the original message through the response URL.
func (a *App) respond(ctx context.Context, responseURL, text string) {
	if responseURL == "" {
		return
	}
	b, _ := json.Marshal(map[string]any{"replace_original": true, "text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(b))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		a.logger.Warn("slack: message not updated", "err", err)
		return
	}
	_ = resp.Body.Close()
}

// refused audits a refused request under the tenant of the Slack user
// (or every mapped tenant when the request could not be read).
func (a *App) refused(ctx context.Context, slackUser, reason string) {
	tenants := map[string]bool{}
	if u, ok := a.cfg.Users[slackUser]; ok {
		tenants[u.Tenant] = true
	} else {
		for _, u := range a.cfg.Users {
			tenants[u.Tenant] = true
		}
	}
	for t := range tenants {
		a.svc.RecordRefusal(ctx, t, "slack:"+slackUser, "slack.interaction", reason)
	}
}

// ParseUsers reads the --slack-user mapping: "U024BE7LH=alice:responder,approver:team-lead"
// (tenant prefixed as "acme/alice" when not the default).
func ParseUsers(specs []string) (map[string]User, error) {
	out := map[string]User{}
	for _, spec := range specs {
		id, rest, ok := strings.Cut(spec, "=")
		who, roles, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || id == "" || who == "" {
			return nil, fmt.Errorf("slack-user %q: want SLACKID=person:role,role", spec)
		}
		tenant, subject, hasTenant := strings.Cut(who, "/")
		if !hasTenant {
			tenant, subject = auth.DefaultTenant, who
		}
		out[id] = User{Tenant: tenant, Subject: subject, Roles: strings.Split(roles, ",")}
	}
	return out, nil
}

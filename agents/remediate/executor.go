package remediate

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/inquest/inquest/domain"
)

// Executor carries out an approved proposal's action, and undoes it.
type Executor interface {
	Name() string
	// DryRun tells whether it only records what would happen.
	DryRun() bool
	Execute(ctx context.Context, p domain.Proposal) (string, error)
	Undo(ctx context.Context, p domain.Proposal) (string, error)
}

// Params are a proposal's parameters with the approvers' modifications
// applied, the latest last.
func Params(p domain.Proposal) map[string]string {
	out := map[string]string{}
	for k, v := range p.Params {
		out[k] = v
	}
	for _, d := range p.Approvals {
		for k, v := range d.Modifications {
			out[k] = v
		}
	}
	return out
}

// DryRunExecutor records what would happen and does nothing: the default.
type DryRunExecutor struct{}

// Name is "dry-run".
func (DryRunExecutor) Name() string { return "dry-run" }

// DryRun is true.
func (DryRunExecutor) DryRun() bool { return true }

// Execute says what would be done.
func (DryRunExecutor) Execute(_ context.Context, p domain.Proposal) (string, error) {
	return fmt.Sprintf("dry run: would %s %s with %v", p.Action, p.Target, Params(p)), nil
}

// Undo says what would be undone.
func (DryRunExecutor) Undo(_ context.Context, p domain.Proposal) (string, error) {
	return fmt.Sprintf("dry run: would undo %s of %s (%s)", p.Action, p.Target, p.Rollback), nil
}

// WebhookExecutor posts the action to a deployment system (a CD pipeline's
// webhook, an Argo CD relay), signed so that the receiver can tell it came
// from Inquest: X-Inquest-Timestamp is the Unix time, X-Inquest-Signature
// "sha256=" and the hex HMAC-SHA256 of "timestamp.body" with the secret.
type WebhookExecutor struct {
	URL    string
	Secret []byte
	Client *http.Client
}

// WebhookRequest is the body a webhook executor posts.
type WebhookRequest struct {
	Proposal string            `json:"proposal"`
	Tenant   string            `json:"tenant"`
	Action   string            `json:"action"`
	Target   string            `json:"target"`
	Params   map[string]string `json:"params"`
	Undo     bool              `json:"undo,omitempty"`
}

// Name is "webhook".
func (w *WebhookExecutor) Name() string { return "webhook" }

// DryRun is false.
func (w *WebhookExecutor) DryRun() bool { return false }

// Execute posts the action.
func (w *WebhookExecutor) Execute(ctx context.Context, p domain.Proposal) (string, error) {
	return w.post(ctx, WebhookRequest{Proposal: p.ID, Tenant: p.Tenant, Action: p.Action, Target: p.Target, Params: Params(p)})
}

// Undo posts the action with undo set.
func (w *WebhookExecutor) Undo(ctx context.Context, p domain.Proposal) (string, error) {
	return w.post(ctx, WebhookRequest{Proposal: p.ID, Tenant: p.Tenant, Action: p.Action, Target: p.Target, Params: Params(p), Undo: true})
}

func (w *WebhookExecutor) post(ctx context.Context, body WebhookRequest) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Inquest-Timestamp", ts)
	req.Header.Set("X-Inquest-Signature", Sign(w.Secret, ts, b))
	status, out, err := send(w.Client, req, "webhook")
	if err != nil {
		return out, err
	}
	return fmt.Sprintf("webhook %s: %s", status, out), nil
}

// send makes an executor's request and reads (a little of) the answer;
// anything but 2xx is an error naming who answered what.
func send(client *http.Client, req *http.Request, who string) (status, body string, err error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", who, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	body = string(bytes.TrimSpace(out))
	if resp.StatusCode/100 != 2 {
		return resp.Status, body, fmt.Errorf("%s answered %s: %s", who, resp.Status, body)
	}
	return resp.Status, body, nil
}

// Sign is the webhook signature of a body sent at ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook signature and that it was made within maxAge of
// now: for receivers written in Go (the demo's deploy API).
func Verify(secret []byte, ts, signature string, body []byte, now time.Time, maxAge time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return fmt.Errorf("timestamp too old")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return fmt.Errorf("bad signature")
	}
	return nil
}

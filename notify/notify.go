// Package notify tells people about incidents: a generic JSON webhook and
// Slack incoming webhooks (Block Kit), behind one Notifier interface, with
// a dispatcher that de-duplicates and rate-limits per incident so that a
// flapping incident does not flood a channel.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/internal/loop"
)

// Message is an incident change worth telling.
type Message struct {
	Reason   string // opened, escalated, acknowledged, resolved, reopened, merged; proposal_escalated, proposal_expired, proposal_failed
	Incident domain.Incident
	URL      string // where to open it, when the public URL is known
	// Proposal is set for a proposal's change that people must hear of
	// (its approvers changed, it expired, it failed); Incident is then
	// its incident as far as the proposal knows it.
	Proposal *domain.Proposal
}

// Notifier delivers a message somewhere.
type Notifier interface {
	Name() string
	Send(ctx context.Context, m Message) error
}

// postJSON posts v and treats anything but 2xx as an error.
func postJSON(ctx context.Context, client *http.Client, url string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// Webhook posts a JSON document per message.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// WebhookPayload is what the generic webhook receives.
type WebhookPayload struct {
	Reason   string   `json:"reason"`
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	Status   string   `json:"status"`
	Services []string `json:"services"`
	OpenedAt string   `json:"openedAt"`
	URL      string   `json:"url,omitempty"`
	// Proposal is set for proposal_* reasons.
	Proposal *ProposalPayload `json:"proposal,omitempty"`
}

// ProposalPayload is a proposal in a webhook message.
type ProposalPayload struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Target string `json:"target"`
	Risk   string `json:"risk"`
	Status string `json:"status"`
	// Text is what happened last (who it now waits for, why it failed).
	Text string `json:"text"`
}

func proposalPayload(p *domain.Proposal) *ProposalPayload {
	if p == nil {
		return nil
	}
	out := &ProposalPayload{ID: p.ID, Action: p.Action, Target: p.Target, Risk: p.Risk, Status: p.Status}
	if n := len(p.History); n > 0 {
		out.Text = p.History[n-1].Text
	}
	return out
}

// Send posts the message.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	in := m.Incident
	return postJSON(ctx, w.Client, w.URL, WebhookPayload{Reason: m.Reason, ID: in.ID, Title: in.Title, Severity: in.Severity,
		Status: in.Status, Services: in.Services, OpenedAt: time.Unix(0, in.OpenedNano).UTC().Format(time.RFC3339), URL: m.URL,
		Proposal: proposalPayload(m.Proposal)})
}

// Slack posts to an incoming webhook with Block Kit: a header with the
// title, the severity, status and services, and a button to the incident.
type Slack struct {
	URL    string
	Client *http.Client
}

// Name is "slack".
func (s *Slack) Name() string { return "slack" }

var severityEmoji = map[string]string{"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:", "low": ":white_circle:"}

// SlackMessage builds the Block Kit message.
func SlackMessage(m Message) map[string]any {
	if p := proposalPayload(m.Proposal); p != nil {
		head := fmt.Sprintf("Proposal %s: %s %s (%s risk)", strings.TrimPrefix(m.Reason, "proposal_"), p.Action, p.Target, p.Risk)
		return map[string]any{"text": head, "blocks": []any{
			map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": head, "emoji": true}},
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": p.Text + "\n*Status* " + p.Status + " · *Proposal* " + p.ID}},
		}}
	}
	in := m.Incident
	head := fmt.Sprintf("%s Incident %s: %s", severityEmoji[in.Severity], m.Reason, in.Title)
	if len(head) > 150 {
		head = head[:147] + "..."
	}
	services := strings.Join(in.Services, ", ")
	if services == "" {
		services = "-"
	}
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": head, "emoji": true}},
		map[string]any{"type": "section", "fields": []any{
			map[string]any{"type": "mrkdwn", "text": "*Severity*\n" + in.Severity},
			map[string]any{"type": "mrkdwn", "text": "*Status*\n" + in.Status},
			map[string]any{"type": "mrkdwn", "text": "*Services*\n" + services},
			map[string]any{"type": "mrkdwn", "text": "*Opened*\n" + time.Unix(0, in.OpenedNano).UTC().Format("2006-01-02 15:04:05 UTC")},
		}},
	}
	if m.URL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []any{map[string]any{
			"type": "button", "text": map[string]any{"type": "plain_text", "text": "Open incident"}, "url": m.URL}}})
	}
	return map[string]any{"text": head, "blocks": blocks}
}

// Send posts the message.
func (s *Slack) Send(ctx context.Context, m Message) error {
	return postJSON(ctx, s.Client, s.URL, SlackMessage(m))
}

// Config configures the dispatcher.
type Config struct {
	// PublicURL prefixes links: PublicURL + "/#incident=<id>".
	PublicURL string
	// MinInterval is the least time between two messages about one
	// incident, unless its status changed (default 5 min).
	MinInterval time.Duration
	// Queue bounds the messages waiting (default 1,000).
	Queue int
}

// Dispatcher sends messages to every notifier in the background, once per
// incident and reason, at most every MinInterval per incident unless the
// status changed, retrying a failed delivery twice.
type Dispatcher struct {
	cfg       Config
	notifiers []Notifier
	logger    *slog.Logger
	queue     chan Message
	mu        sync.Mutex
	last      map[string]sent
	now       func() time.Time
	wg        sync.WaitGroup
	cancel    context.CancelFunc
	stopOnce  sync.Once
	sentTotal *prometheus.CounterVec
	skipped   prometheus.Counter
}

type sent struct {
	at     time.Time
	status string
	reason string
}

// NewDispatcher builds a dispatcher; Start runs it.
func NewDispatcher(cfg Config, notifiers []Notifier, reg prometheus.Registerer, logger *slog.Logger) *Dispatcher {
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = 5 * time.Minute
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 1000
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Dispatcher{cfg: cfg, notifiers: notifiers, logger: logger, queue: make(chan Message, cfg.Queue), last: map[string]sent{},
		now: time.Now,
		sentTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inquest_notifications_total",
			Help: "Notifications by notifier and outcome (sent, failed)."}, []string{"notifier", "outcome"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "inquest_notifications_skipped_total",
			Help: "Incident changes not notified: repeated, rate-limited or queue full."})}
	if reg != nil {
		reg.MustRegister(d.sentTotal, d.skipped)
	}
	return d
}

// Notify queues an incident change; it never blocks.
func (d *Dispatcher) Notify(in domain.Incident, reason string) {
	if len(d.notifiers) == 0 {
		return
	}
	m := Message{Reason: reason, Incident: in}
	if d.cfg.PublicURL != "" {
		m.URL = strings.TrimRight(d.cfg.PublicURL, "/") + "/#incident=" + in.ID
	}
	select {
	case d.queue <- m:
	default:
		d.skipped.Inc()
	}
}

// NotifyProposal queues a proposal's change that its approvers or the
// incident's responders must hear of: escalated (other approvers are now
// asked), expired, failed. It never blocks.
func (d *Dispatcher) NotifyProposal(p domain.Proposal, reason string) {
	if len(d.notifiers) == 0 {
		return
	}
	m := Message{Reason: reason, Proposal: &p, Incident: domain.Incident{Tenant: p.Tenant, ID: p.IncidentID, Status: p.Status,
		Title: fmt.Sprintf("%s %s (%s risk): %s", p.Action, p.Target, p.Risk, reason), Services: []string{p.Target}, OpenedNano: p.ProposedNano}}
	if d.cfg.PublicURL != "" && p.IncidentID != "" {
		m.URL = strings.TrimRight(d.cfg.PublicURL, "/") + "/#incident=" + p.IncidentID
	}
	select {
	case d.queue <- m:
	default:
		d.skipped.Inc()
	}
}

// allow de-duplicates and rate-limits per incident (and per proposal).
func (d *Dispatcher) allow(m Message) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := m.Incident.Tenant + "/" + m.Incident.ID
	if m.Proposal != nil {
		key += "/" + m.Proposal.ID
	}
	prev, ok := d.last[key]
	now := d.now()
	if ok {
		if prev.reason == m.Reason && prev.status == m.Incident.Status && now.Sub(prev.at) < d.cfg.MinInterval {
			return false
		}
		if prev.status == m.Incident.Status && now.Sub(prev.at) < d.cfg.MinInterval {
			return false
		}
	}
	d.last[key] = sent{at: now, status: m.Incident.Status, reason: m.Reason}
	if len(d.last) > 10_000 { // forget the oldest half now and then
		for k, v := range d.last {
			if now.Sub(v.at) > time.Hour {
				delete(d.last, k)
			}
		}
	}
	return true
}

// Start sends queued messages until ctx ends.
func (d *Dispatcher) Start(ctx context.Context) error {
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-d.queue:
				if !d.allow(m) {
					d.skipped.Inc()
					continue
				}
				for _, n := range d.notifiers {
					d.deliver(ctx, n, m)
				}
			}
		}
	}()
	return nil
}

// Shutdown stops the sender and waits for it; what is still queued is
// dropped (a notification is best effort, the incident is in the store).
// Idempotent.
func (d *Dispatcher) Shutdown(context.Context) error {
	d.stopOnce.Do(func() {
		if d.cancel != nil {
			d.cancel()
		}
		d.wg.Wait()
	})
	return nil
}

func (d *Dispatcher) deliver(ctx context.Context, n Notifier, m Message) {
	err := loop.Retry(ctx, loop.Backoff{Tries: 3, First: 500 * time.Millisecond, Factor: 2}, func() error {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return n.Send(sctx, m)
	}, nil)
	if err == nil {
		d.sentTotal.WithLabelValues(n.Name(), "sent").Inc()
		return
	}
	if ctx.Err() != nil {
		return // shutting down: not a failure of the notifier
	}
	d.sentTotal.WithLabelValues(n.Name(), "failed").Inc()
	d.logger.Warn("notification failed", "notifier", n.Name(), "incident", m.Incident.ID, "err", err)
}

// Package journey owns an incident's journey between the parts that do the
// work: the detector's Grouper opens, merges and resolves the quiet ones;
// the investigation runner investigates; the remediation flow proposes,
// asks, executes and verifies. The journey is what connects them — the
// incident a person or the detector changed is told to the notifiers and,
// when it is new or grew, to the investigator; a finished investigation
// becomes proposals; a proposal that needs people is told to them (the
// notifiers, the chat face); proposals move along with time (escalation,
// expiry, verification); a remediation verified to have worked resolves
// its incident by the same rule a person's resolution follows. The
// composition root builds the parts and hands them here; it holds no step
// of the journey itself.
package journey

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/internal/loop"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/updates"
)

// Investigator starts (or extends) the investigation of an incident that
// was opened or grew.
type Investigator interface {
	Watch(in domain.Incident)
}

// Remediation makes proposals of a finished investigation and moves
// proposals along with time.
type Remediation interface {
	Propose(ctx context.Context, inv *domain.Investigation, proposedBy string) ([]domain.Proposal, error)
	Sweep(ctx context.Context) error
}

// Notifier tells people outside Inquest (webhooks, Slack messages).
type Notifier interface {
	Notify(in domain.Incident, reason string)
	NotifyProposal(p domain.Proposal, reason string)
}

// Poster puts a proposal in front of the people who approve it (the Slack
// app, with its buttons).
type Poster interface {
	Post(ctx context.Context, p domain.Proposal)
}

// Publisher carries changes to live subscribers (the updates broker).
type Publisher = incidents.Publisher

// Config is how the journey paces itself.
type Config struct {
	// Investigate starts an investigation for every incident opened or
	// grown (--investigate-incidents).
	Investigate bool
	// SweepEvery is how often proposals are moved along with time
	// (default 10 s); every process sweeps, the compare-and-set on each
	// proposal makes concurrent sweeps harmless.
	SweepEvery time.Duration
	// PostTimeout bounds posting one proposal to the chat face (default
	// 30 s).
	PostTimeout time.Duration
}

// Deps are the parts the journey connects; any may be nil where this
// process does not run it.
type Deps struct {
	Incidents    storage.IncidentStore
	Updates      Publisher
	Investigator Investigator
	Remediation  Remediation
	Notifier     Notifier
}

// Journey connects the parts. Its hooks are safe for concurrent use.
type Journey struct {
	cfg       Config
	d         Deps
	lifecycle *incidents.Lifecycle
	logger    *slog.Logger
	sweep     *loop.Periodic

	mu     sync.Mutex
	poster Poster
	ctx    context.Context // ends at Shutdown: posts under way stop
	cancel context.CancelFunc
	posts  sync.WaitGroup
}

// New builds the journey and the Lifecycle it owns (people's changes to
// incidents, told to the notifiers through the journey).
func New(cfg Config, d Deps, logger *slog.Logger) *Journey {
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 10 * time.Second
	}
	if cfg.PostTimeout <= 0 {
		cfg.PostTimeout = 30 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	j := &Journey{cfg: cfg, d: d, logger: logger}
	j.ctx, j.cancel = context.WithCancel(context.Background())
	if d.Incidents != nil {
		j.lifecycle = incidents.New(d.Incidents, d.Updates, j.IncidentChanged, logger)
	}
	j.sweep = loop.Every(cfg.SweepEvery, func(ctx context.Context, _ time.Time) {
		if d.Remediation == nil {
			return
		}
		if err := d.Remediation.Sweep(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("proposal sweep failed", "err", err)
		}
	})
	return j
}

// Lifecycle is where people's changes to incidents go (the service's
// acknowledge, resolve, reopen, merge).
func (j *Journey) Lifecycle() *incidents.Lifecycle { return j.lifecycle }

// PostTo hands pending proposals to the chat face as well; set before
// Start, once the faces are built.
func (j *Journey) PostTo(p Poster) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.poster = p
}

// IncidentChanged hears every stored change of an incident, with its
// reason ("opened", "escalated", "resolved", "acknowledged", ...), from
// the detector or from a person, and tells the notifiers.
func (j *Journey) IncidentChanged(in domain.Incident, reason string) {
	if j.d.Notifier != nil {
		j.d.Notifier.Notify(in, reason)
	}
}

// IncidentSeen hears every incident the detector stored (opened, grown,
// resolved): an open one is investigated when the journey investigates.
func (j *Journey) IncidentSeen(in domain.Incident) {
	if j.cfg.Investigate && j.d.Investigator != nil {
		j.d.Investigator.Watch(in)
	}
}

// InvestigationDone makes the proposals of a finished investigation;
// whoever started it by hand is their proposer (and may not approve them),
// the detector's are Inquest's.
func (j *Journey) InvestigationDone(ctx context.Context, inv domain.Investigation) {
	if j.d.Remediation == nil {
		return
	}
	by := inv.Trigger
	if by == "incident" || by == "" {
		by = "inquest"
	}
	if _, err := j.d.Remediation.Propose(ctx, &inv, by); err != nil {
		j.logger.Warn("proposals not made", "investigation", inv.ID, "err", err)
	}
}

// ProposalChanged hears every stored change of a proposal: it goes to live
// subscribers, to the notifiers when it needs people (Tellable), and to the
// chat face, which shows the pending ones with their buttons and updates
// the others' messages.
func (j *Journey) ProposalChanged(p domain.Proposal) {
	if j.d.Updates != nil {
		j.d.Updates.Publish(updates.Update{Proposal: &p})
	}
	if reason := Tellable(p); reason != "" && j.d.Notifier != nil {
		j.d.Notifier.NotifyProposal(p, reason)
	}
	j.mu.Lock()
	poster := j.poster
	if poster != nil && j.ctx.Err() == nil {
		j.posts.Add(1)
	} else {
		poster = nil
	}
	j.mu.Unlock()
	if poster == nil {
		return
	}
	// The flow's caller must not wait on Slack: posted in the background,
	// and waited for at Shutdown.
	go func() {
		defer j.posts.Done()
		ctx, cancel := context.WithTimeout(j.ctx, j.cfg.PostTimeout)
		defer cancel()
		poster.Post(ctx, p)
	}()
}

// ProposalVerified resolves the incident of a remediation verified to have
// worked, by the rule a person's resolution follows.
func (j *Journey) ProposalVerified(ctx context.Context, p domain.Proposal) {
	if p.IncidentID == "" || j.lifecycle == nil {
		return
	}
	if _, err := j.lifecycle.Resolve(ctx, p.Tenant, p.IncidentID, "inquest (proposal "+p.ID+" verified)"); err != nil {
		j.logger.Warn("incident not resolved after a verified remediation", "incident", p.IncidentID, "err", err)
	}
}

// Tellable is the notification a proposal's last change makes: when it is
// escalated (the next tier's approvers are asked), expired or failed.
func Tellable(p domain.Proposal) string {
	if len(p.History) == 0 {
		return ""
	}
	switch k := p.History[len(p.History)-1].Kind; k {
	case "escalated", domain.ProposalExpired, domain.ProposalFailed:
		return "proposal_" + k
	}
	return ""
}

// Start begins sweeping proposals.
func (j *Journey) Start(ctx context.Context) error { return j.sweep.Start(ctx) }

// Shutdown stops the sweep and waits for the posts under way (cut short).
// Idempotent.
func (j *Journey) Shutdown(ctx context.Context) error {
	err := j.sweep.Shutdown(ctx)
	j.mu.Lock()
	j.cancel()
	j.mu.Unlock()
	done := make(chan struct{})
	go func() { j.posts.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

package remediate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

var (
	// ErrForbidden is a decision this person may not make (their own
	// proposal, too low a level, a second approval of theirs).
	ErrForbidden = errors.New("not allowed")
	// ErrTransition is a change the proposal's state does not allow (it
	// is approved already, rejected, expired, ...).
	ErrTransition = errors.New("not in a state that allows it")
)

// Verifier tells whether an executed proposal had its expected effect.
type Verifier func(ctx context.Context, p domain.Proposal, now time.Time) Verdict

// Verdict is what verification saw.
type Verdict struct {
	// Decided is false while it cannot tell yet.
	Decided bool
	// Worked: the expected effect came.
	Worked bool
	// Relieved: it came from this proposal (the target's own anomalies
	// ended after it ran), so the incident's end is credited to it.
	Relieved bool
	Text     string
}

// Config configures the flow.
type Config struct {
	Policy Policy
	// Levels are roles that count as approver levels ("payments-lead":
	// "team-lead"), beyond the approver:LEVEL roles.
	Levels map[string]string
	// Tenants holds the tenants whose tiers or levels differ (the policy
	// file's tenants section).
	Tenants map[string]PolicySpec
	// Settings keeps what tenants' admins set through the API (their
	// policy and runbooks); nil: only the file's.
	Settings storage.SettingStore
	// Runbooks, when set, are proposed before the catalog's remedies.
	Runbooks *Runbooks
	// VerifyFor is how long verification waits for the effect (10 min).
	VerifyFor time.Duration

	source string
}

// Flow runs proposals through approval, execution and verification.
// Every change is a compare-and-set on the stored proposal, so that any
// process may make it and racing ones make one.
type Flow struct {
	cfg    Config
	store  storage.ProposalStore
	exec   Executor
	audit  *storage.Auditor
	verify Verifier
	logger *slog.Logger
	now    func() time.Time
	// Published is told of every stored change (the proposalUpdated
	// stream); OnRelieved of a proposal verified to have relieved its
	// incident (which resolves, credited to it).
	Published  func(domain.Proposal)
	OnRelieved func(ctx context.Context, p domain.Proposal)
}

// New makes a flow; a nil executor is the dry run, a nil verifier takes
// execution as success.
func New(cfg Config, store storage.ProposalStore, exec Executor, audit storage.AuditStore, verify Verifier, logger *slog.Logger) *Flow {
	cfg.source = "file"
	if cfg.Policy == nil {
		cfg.Policy, cfg.source = DefaultPolicy(), "default"
	}
	if cfg.VerifyFor <= 0 {
		cfg.VerifyFor = 10 * time.Minute
	}
	if exec == nil {
		exec = DryRunExecutor{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Flow{cfg: cfg, store: store, exec: exec, audit: storage.NewAuditor(audit, logger), verify: verify, logger: logger, now: time.Now}
}

// SetClock makes the flow read time from now (tests).
func (f *Flow) SetClock(now func() time.Time) { f.now = now }

// Propose stores the investigation's proposals (once: their IDs come from
// it) and starts those the policy approves by itself.
func (f *Flow) Propose(ctx context.Context, inv *domain.Investigation, proposedBy string) ([]domain.Proposal, error) {
	rules, err := f.Rules(ctx, inv.Tenant)
	if err != nil {
		return nil, err
	}
	ps := Propose(inv, proposedBy, f.now().UnixNano(), rules.Policy, rules.Runbooks)
	var out []domain.Proposal
	for _, p := range ps {
		created, err := f.store.CreateProposal(ctx, p)
		if err != nil {
			return out, err
		}
		if !created {
			continue
		}
		f.record(ctx, p, p.History[0])
		if p.Status == domain.ProposalApproved {
			if started, err := f.start(ctx, p, Actor{Subject: "policy", Channel: "policy"}); err == nil {
				p = *started
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// change reads a proposal, applies fn and stores it against the version
// it read; a lost race is read again and fn judges anew (a second
// approver's decision still counts), up to a few times.
func (f *Flow) change(ctx context.Context, tenant, id string, fn func(p *domain.Proposal) (domain.ProposalEvent, error)) (*domain.Proposal, error) {
	var out *domain.Proposal
	var ev domain.ProposalEvent
	err := storage.CompareAndSet(ctx, "proposal "+id, func(int) error {
		p, err := f.store.Proposal(ctx, tenant, id)
		if err != nil {
			return err
		}
		version := p.Version
		if ev, err = fn(p); err != nil {
			out = p
			return err
		}
		ev.AtNano = f.now().UnixNano()
		p.History = append(p.History, ev)
		p.UpdatedNano = ev.AtNano
		if err := f.store.UpdateProposal(ctx, *p, version); err != nil {
			return err
		}
		p.Version = version + 1
		out = p
		return nil
	})
	if err != nil {
		if out != nil && !errors.Is(err, storage.ErrConflict) {
			return out, err // fn refused: the caller sees the proposal as it is
		}
		return nil, err
	}
	f.record(ctx, *out, ev)
	return out, nil
}

// record audits a transition and publishes the proposal.
func (f *Flow) record(ctx context.Context, p domain.Proposal, ev domain.ProposalEvent) {
	f.audit.Write(ctx, domain.AuditEntry{Tenant: p.Tenant, TimeUnixNano: ev.AtNano, Actor: ev.Actor,
		Action: "proposal." + ev.Kind, Target: p.ID, Outcome: "ok", Detail: strings.TrimSpace(ev.Channel + " " + ev.Text)})
	if f.Published != nil {
		f.Published(p)
	}
}

// Approve records a person's approval; the proposal is approved once the
// tier's seats are filled by distinct people, and then executed.
func (f *Flow) Approve(ctx context.Context, tenant, id string, a Actor, comment string, mods map[string]string) (*domain.Proposal, error) {
	p, err := f.Decide(ctx, tenant, id, a, comment, mods)
	if err != nil || p.Status != domain.ProposalApproved {
		return p, err
	}
	return f.start(ctx, *p, a)
}

// Decide records a person's approval as Approve does, and stops there: a
// proposal it approves is left approved, for Execute. A face that must
// answer within seconds (Slack wants its answer in three; an executor may
// take thirty) decides in the request and executes after it.
func (f *Flow) Decide(ctx context.Context, tenant, id string, a Actor, comment string, mods map[string]string) (*domain.Proposal, error) {
	rules, err := f.Rules(ctx, tenant)
	if err != nil {
		return nil, err
	}
	a.Levels = rules.levelsOf(a)
	pol := rules.Policy
	return f.change(ctx, tenant, id, func(p *domain.Proposal) (domain.ProposalEvent, error) {
		if p.Status != domain.ProposalPending {
			return domain.ProposalEvent{}, fmt.Errorf("%w: proposal %s is %s", ErrTransition, p.ID, p.Status)
		}
		if p.ExpiresNano > 0 && f.now().UnixNano() >= p.ExpiresNano {
			return domain.ProposalEvent{}, fmt.Errorf("%w: proposal %s timed out: it is escalated or expires, and nothing runs", ErrTransition, p.ID)
		}
		if err := pol.canApprove(p, a); err != nil {
			return domain.ProposalEvent{}, err
		}
		p.Approvals = append(p.Approvals, domain.Decision{Actor: a.Subject, Levels: a.Levels, Channel: a.Channel, Comment: comment,
			Modifications: mods, AtNano: f.now().UnixNano()})
		text := "approved"
		if len(mods) > 0 {
			text += fmt.Sprintf(" with %v", mods)
		}
		if comment != "" {
			text += ": " + comment
		}
		if empty := seated(pol.tierOf(p), p.Approvals); len(empty) > 0 {
			return domain.ProposalEvent{Kind: "approval", Actor: a.Subject, Channel: a.Channel,
				Text: text + fmt.Sprintf("; %d more approval(s) needed", len(empty))}, nil
		}
		p.Status = domain.ProposalApproved
		return domain.ProposalEvent{Kind: domain.ProposalApproved, Actor: a.Subject, Channel: a.Channel, Text: text}, nil
	})
}

// Reject turns a pending proposal down.
func (f *Flow) Reject(ctx context.Context, tenant, id string, a Actor, reason string) (*domain.Proposal, error) {
	return f.change(ctx, tenant, id, func(p *domain.Proposal) (domain.ProposalEvent, error) {
		if p.Status != domain.ProposalPending {
			return domain.ProposalEvent{}, fmt.Errorf("%w: proposal %s is %s", ErrTransition, p.ID, p.Status)
		}
		p.Status = domain.ProposalRejected
		p.Rejection = &domain.Decision{Actor: a.Subject, Levels: a.Levels, Channel: a.Channel, Comment: reason, AtNano: f.now().UnixNano()}
		return domain.ProposalEvent{Kind: domain.ProposalRejected, Actor: a.Subject, Channel: a.Channel, Text: reason}, nil
	})
}

// Execute starts an approved proposal that has not started (one approved
// by policy, or whose process stopped before it ran).
func (f *Flow) Execute(ctx context.Context, tenant, id string, a Actor) (*domain.Proposal, error) {
	p, err := f.store.Proposal(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return f.start(ctx, *p, a)
}

// start moves an approved proposal to executing (once, however many
// processes try) and runs it.
func (f *Flow) start(ctx context.Context, p domain.Proposal, a Actor) (*domain.Proposal, error) {
	started, err := f.change(ctx, p.Tenant, p.ID, func(p *domain.Proposal) (domain.ProposalEvent, error) {
		if p.Status != domain.ProposalApproved {
			return domain.ProposalEvent{}, fmt.Errorf("%w: proposal %s is %s, not approved", ErrTransition, p.ID, p.Status)
		}
		p.Status = domain.ProposalExecuting
		p.Execution = &domain.Execution{Executor: f.exec.Name(), DryRun: f.exec.DryRun(), StartedNano: f.now().UnixNano()}
		return domain.ProposalEvent{Kind: domain.ProposalExecuting, Actor: a.Subject, Channel: a.Channel,
			Text: fmt.Sprintf("%s %s with %v by %s", p.Action, p.Target, Params(*p), f.exec.Name())}, nil
	})
	if err != nil {
		return started, err
	}
	out, runErr := f.exec.Execute(ctx, *started)
	return f.change(ctx, p.Tenant, p.ID, func(p *domain.Proposal) (domain.ProposalEvent, error) {
		if p.Status != domain.ProposalExecuting {
			return domain.ProposalEvent{}, fmt.Errorf("%w: proposal %s is %s", ErrTransition, p.ID, p.Status)
		}
		p.Execution.FinishedNano, p.Execution.Output = f.now().UnixNano(), out
		if runErr != nil {
			p.Status, p.Execution.Error = domain.ProposalFailed, runErr.Error()
			return domain.ProposalEvent{Kind: domain.ProposalFailed, Actor: f.exec.Name(), Text: runErr.Error()}, nil
		}
		if f.exec.DryRun() || f.verify == nil {
			p.Status, p.Execution.Verified = domain.ProposalSucceeded, "not verified: "+map[bool]string{true: "a dry run", false: "no verifier"}[f.exec.DryRun()]
			return domain.ProposalEvent{Kind: domain.ProposalSucceeded, Actor: f.exec.Name(), Text: out}, nil
		}
		if Informs(p.Action) {
			p.Status, p.Execution.Verified = domain.ProposalSucceeded, "done once sent: it tells people and changes nothing in the system to verify"
			return domain.ProposalEvent{Kind: domain.ProposalSucceeded, Actor: f.exec.Name(), Text: out}, nil
		}
		p.Execution.Verified = "watching: " + p.Expected
		return domain.ProposalEvent{Kind: "executed", Actor: f.exec.Name(), Text: out}, nil
	})
}

// Rollback undoes a proposal that ran.
func (f *Flow) Rollback(ctx context.Context, tenant, id string, a Actor) (*domain.Proposal, error) {
	p, err := f.store.Proposal(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if p.Status != domain.ProposalSucceeded && p.Status != domain.ProposalFailed && p.Status != domain.ProposalExecuting {
		return p, fmt.Errorf("%w: proposal %s is %s; only one that ran can be rolled back", ErrTransition, p.ID, p.Status)
	}
	out, undoErr := f.exec.Undo(ctx, *p)
	return f.change(ctx, tenant, id, func(p *domain.Proposal) (domain.ProposalEvent, error) {
		if undoErr != nil {
			return domain.ProposalEvent{Kind: "rollback_failed", Actor: a.Subject, Channel: a.Channel, Text: undoErr.Error()}, nil
		}
		p.Status = domain.ProposalRolledBack
		return domain.ProposalEvent{Kind: domain.ProposalRolledBack, Actor: a.Subject, Channel: a.Channel, Text: out}, nil
	})
}

// Sweep moves every open proposal along with time: a pending one past its
// timeout escalates once to the next tier (and expires at the second),
// an approved one that never started starts, an executing one is
// verified (succeeded, or failed and rolled back when its time is up).
func (f *Flow) Sweep(ctx context.Context) error {
	open, err := f.store.OpenProposals(ctx)
	if err != nil {
		return err
	}
	now := f.now()
	for _, p := range open {
		var err error
		switch p.Status {
		case domain.ProposalPending:
			if p.ExpiresNano > 0 && now.UnixNano() >= p.ExpiresNano {
				_, err = f.timeout(ctx, p)
			}
		case domain.ProposalApproved:
			_, err = f.start(ctx, p, Actor{Subject: "inquest", Channel: "sweep"})
		case domain.ProposalExecuting:
			err = f.verifyOne(ctx, p, now)
		}
		if err != nil && !errors.Is(err, ErrTransition) {
			f.logger.Warn("proposal sweep", "proposal", p.ID, "err", err)
		}
	}
	return nil
}

func (f *Flow) timeout(ctx context.Context, p domain.Proposal) (*domain.Proposal, error) {
	rules, err := f.Rules(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	pol := rules.Policy
	return f.change(ctx, p.Tenant, p.ID, func(p *domain.Proposal) (domain.ProposalEvent, error) {
		if p.Status != domain.ProposalPending || f.now().UnixNano() < p.ExpiresNano {
			return domain.ProposalEvent{}, fmt.Errorf("%w: proposal %s moved on", ErrTransition, p.ID)
		}
		next := pol[p.Risk].EscalateTo
		if p.Escalated || next == "" {
			p.Status = domain.ProposalExpired
			return domain.ProposalEvent{Kind: domain.ProposalExpired, Actor: "inquest", Text: "nobody decided in time; nothing was executed"}, nil
		}
		p.Escalated = true
		p.ExpiresNano = f.now().UnixNano() + int64(pol[next].Timeout)
		return domain.ProposalEvent{Kind: "escalated", Actor: "inquest",
			Text: fmt.Sprintf("nobody decided in time: now for the %s tier's approvers", next)}, nil
	})
}

func (f *Flow) verifyOne(ctx context.Context, p domain.Proposal, now time.Time) error {
	if f.verify == nil || p.Execution == nil || p.Execution.FinishedNano == 0 {
		return nil
	}
	v := f.verify(ctx, p, now)
	if !v.Decided && now.Sub(time.Unix(0, p.Execution.FinishedNano)) < f.cfg.VerifyFor {
		return nil
	}
	done, err := f.change(ctx, p.Tenant, p.ID, func(p *domain.Proposal) (domain.ProposalEvent, error) {
		if p.Status != domain.ProposalExecuting {
			return domain.ProposalEvent{}, fmt.Errorf("%w: proposal %s is %s", ErrTransition, p.ID, p.Status)
		}
		text := v.Text
		if !v.Decided {
			text = "the expected effect did not come within " + f.cfg.VerifyFor.String() + ": " + text
		}
		p.Execution.Verified = text
		if v.Decided && v.Worked {
			p.Status, p.Execution.Relieved = domain.ProposalSucceeded, v.Relieved
			return domain.ProposalEvent{Kind: domain.ProposalSucceeded, Actor: "verification", Text: text}, nil
		}
		p.Status = domain.ProposalFailed
		return domain.ProposalEvent{Kind: domain.ProposalFailed, Actor: "verification", Text: text}, nil
	})
	if err != nil {
		return err
	}
	if done.Status == domain.ProposalSucceeded {
		if done.Execution.Relieved && f.OnRelieved != nil {
			f.OnRelieved(ctx, *done)
		}
		return nil
	}
	_, err = f.Rollback(ctx, done.Tenant, done.ID, Actor{Subject: "verification", Channel: "sweep"})
	return err
}

// VerifyByAnomalies is the usual verifier: a proposal of an incident
// worked once every anomaly of the target service in it that was open
// when it ran has ended (its series back inside their bands), which
// credits the incident's end to it; or once the incident is resolved, when
// none of the target's was open (not to its credit). One with no incident
// has nothing to watch and is taken as done.
func VerifyByAnomalies(incidents storage.IncidentStore) Verifier {
	return func(ctx context.Context, p domain.Proposal, now time.Time) Verdict {
		if p.IncidentID == "" {
			return Verdict{Decided: true, Worked: true, Text: "no incident to watch"}
		}
		in, err := incidents.Incident(ctx, p.Tenant, p.IncidentID)
		if err != nil {
			return Verdict{Text: "the incident could not be read: " + err.Error()}
		}
		ran := int64(0)
		if p.Execution != nil {
			ran = p.Execution.StartedNano
		}
		// The target's own series first, so that an incident that
		// resolved before this check still says what came back. Those
		// that had ended before it ran are not its doing.
		open, seen := 0, 0
		for _, id := range in.AnomalyIDs {
			a, err := incidents.Anomaly(ctx, p.Tenant, id)
			if err != nil || a.Service != p.Target || a.EndNano != 0 && a.EndNano <= ran {
				continue
			}
			seen++
			if a.EndNano == 0 {
				open++
			}
		}
		if seen > 0 && open == 0 {
			return Verdict{Decided: true, Worked: true, Relieved: true,
				Text: fmt.Sprintf("%s's %d anomalies of the incident have ended since it ran: its series are back inside their bands", p.Target, seen)}
		}
		if in.Status == domain.IncidentResolved {
			why := "none of " + p.Target + "'s anomalies was open when it ran"
			if seen > 0 {
				why = fmt.Sprintf("%d of %s's %d anomalies still open", open, p.Target, seen)
			}
			return Verdict{Decided: true, Worked: true, Text: "the incident is resolved (" + why + ")"}
		}
		return Verdict{Text: fmt.Sprintf("%d of %s's %d anomalies still open", open, p.Target, seen)}
	}
}

// Package investigate runs investigations: a workflow of steps, each an
// agent (the dependency tracer, resources, changes, root-cause ranking,
// BubbleUp, similar incidents), in a bounded pool of workers. Every line of
// progress is published as it happens and stored with the investigation,
// so that a subscriber who comes late hears it from the start and a
// restart never loses one.
package investigate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/agents/rca"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/internal/loop"
	"github.com/inquest/inquest/llm"
	"github.com/inquest/inquest/storage"
)

// Source is everything the steps read.
type Source interface {
	storage.EventStore
	storage.MetricStore
}

// Deps are what the runner reads and writes.
type Deps struct {
	Source Source
	Store  storage.InvestigationStore
	// Incidents, when set, lets similar investigations say how their
	// incident ended.
	Incidents storage.IncidentStore
	// Publish streams a progress line (to every replica's subscribers);
	// nil publishes nothing.
	Publish func(domain.InvestigationProgress)
	// Model, when set, writes the narrative and may reorder the
	// hypotheses (agents/rca.Narrate checks what it writes).
	Model llm.Model
	// OnDone is told of every investigation that finished (remediation
	// proposals are made from it); it must not block for long.
	OnDone func(ctx context.Context, inv domain.Investigation)
	// Ranked, when set, is told what the ranking was given: an
	// evaluation scores it again under other weights without gathering
	// the evidence again. It must not change it.
	Ranked func(inv *domain.Investigation, in rca.Input)
}

// Config sizes the runner.
type Config struct {
	// Workers run investigations at once (2).
	Workers int
	// Queue holds investigations waiting for a worker (64); past it a
	// start is refused with ErrBusy.
	Queue int
	// Timeout bounds one investigation (2 min).
	Timeout time.Duration
	// Baseline is how long before the window the baseline runs when none
	// is given (30 min).
	Baseline time.Duration
	// Settle is how long telemetry takes to arrive in full (10 s): each
	// service's SDK batches its spans for seconds on its own, so in the
	// last seconds before now a caller's spans are stored while its
	// callees' are still on their way, and the caller looks slow by itself.
	// A run waits until its window's end is this far in the past.
	Settle time.Duration
	// Weights are the root-cause scoring model's (rca.DefaultWeights when
	// nil).
	Weights *rca.Weights
	// Shared says other processes run investigations over the same store
	// (Redis): a running one is then taken as left behind only once it is
	// older than Timeout, since it may be running elsewhere.
	Shared bool
}

// DefaultConfig is the usual configuration.
func DefaultConfig() Config {
	return Config{Workers: 2, Queue: 64, Timeout: 2 * time.Minute, Baseline: 30 * time.Minute, Settle: 10 * time.Second}
}

// ErrBusy is returned when the queue is full: try again later.
var ErrBusy = errors.New("too many investigations are waiting; try again in a minute")

// Runner runs investigations. Safe for concurrent use.
type Runner struct {
	cfg    Config
	d      Deps
	logger *slog.Logger
	now    func() time.Time

	queue  chan domain.Investigation
	wg     sync.WaitGroup
	cancel context.CancelFunc
	// cancelSweep stops the search for investigations left behind.
	cancelSweep context.CancelFunc
	mu          sync.Mutex
	started     bool
	stopped     bool
	launched    map[string]bool // incident runs started here
	// stopping is closed by Shutdown: runs still waiting for their window
	// to settle are left for the next start.
	stopping chan struct{}

	runs *prometheus.CounterVec
	dur  prometheus.Histogram
}

// New makes a runner; a nil logger discards.
func New(cfg Config, d Deps, reg prometheus.Registerer, logger *slog.Logger) *Runner {
	def := DefaultConfig()
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	if cfg.Queue <= 0 {
		cfg.Queue = def.Queue
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Baseline <= 0 {
		cfg.Baseline = def.Baseline
	}
	if cfg.Settle < 0 {
		cfg.Settle = 0
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Runner{cfg: cfg, d: d, logger: logger, now: time.Now, queue: make(chan domain.Investigation, cfg.Queue), launched: map[string]bool{}, stopping: make(chan struct{}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inquest_investigations_total",
			Help: "Investigations finished, by status (done, failed, interrupted)."}, []string{"status"}),
		dur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "inquest_investigation_seconds",
			Help: "How long investigations took.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
	}
	if reg != nil {
		reg.MustRegister(r.runs, r.dur)
	}
	return r
}

// SetClock makes the runner read time from now (replays, tests).
func (r *Runner) SetClock(now func() time.Time) { r.now = now }

// Start starts the workers, then finds the investigations a stopped
// process left running: each is marked interrupted, and one an incident
// started is run again under a new ID, so that the incident keeps an
// answer.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return nil
	}
	r.started = true
	wctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.mu.Unlock()
	for i := 0; i < r.cfg.Workers; i++ {
		r.wg.Add(1)
		go r.work(wctx)
	}
	var olderThan time.Duration
	if r.cfg.Shared {
		olderThan = r.cfg.Timeout + time.Minute
	}
	if err := r.recover(ctx, olderThan); err != nil {
		return err
	}
	// A process that dies leaves its running investigations behind: the
	// others take them up once they are older than any run can be.
	sctx, cancelSweep := context.WithCancel(wctx)
	r.mu.Lock()
	r.cancelSweep = cancelSweep
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		loop.Until(sctx, time.Minute, func(ctx context.Context, _ time.Time) bool {
			if err := r.recover(ctx, r.cfg.Timeout+time.Minute); err != nil {
				r.logger.Warn("investigations left behind not read", "err", err)
			}
			return true
		})
	}()
	return nil
}

// recover marks the running investigations started more than olderThan
// ago (all with 0) as interrupted and runs an incident's again.
func (r *Runner) recover(ctx context.Context, olderThan time.Duration) error {
	left, err := r.d.Store.RunningInvestigations(ctx)
	if err != nil {
		return fmt.Errorf("investigations left running: %w", err)
	}
	for _, inv := range left {
		if olderThan > 0 && r.now().Sub(time.Unix(0, inv.StartedNano)) < olderThan {
			continue
		}
		inv.Status = domain.InvestigationInterrupted
		inv.FinishedNano = r.now().UnixNano()
		inv.Error = "the process running it stopped before it finished"
		r.line(ctx, &inv, "done", "", "Interrupted: the process running it stopped before it finished.")
		if inv.IncidentID == "" {
			continue
		}
		again := fresh(inv, inv.ID+"-again", r.now())
		if _, err := r.Submit(ctx, again); err != nil && !errors.Is(err, ErrBusy) {
			r.logger.Warn("investigation not started again", "id", inv.ID, "err", err)
		}
	}
	return nil
}

// Shutdown stops taking work and waits for the running investigations to
// end (they are cancelled when ctx ends; those queued are left running in
// the store and picked up by the next start).
func (r *Runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if !r.started || r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	close(r.queue)
	close(r.stopping)
	sweep := r.cancelSweep
	r.mu.Unlock()
	if sweep != nil {
		sweep()
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		r.cancel()
		return nil
	case <-ctx.Done():
		r.cancel()
		<-done
		return ctx.Err()
	}
}

// Submit stores a new investigation and queues it; an investigation with
// the same ID already stored is returned as it is, not run again.
func (r *Runner) Submit(ctx context.Context, inv domain.Investigation) (*domain.Investigation, error) {
	created, err := r.d.Store.CreateInvestigation(ctx, inv)
	if err != nil {
		return nil, err
	}
	if !created {
		return r.d.Store.Investigation(ctx, inv.Tenant, inv.ID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || !r.started {
		return &inv, nil // left running: the next start picks it up
	}
	select {
	case r.queue <- inv:
		return &inv, nil
	default:
		inv.Status, inv.Error = domain.InvestigationFailed, ErrBusy.Error()
		inv.FinishedNano = r.now().UnixNano()
		if err := r.d.Store.PutInvestigation(ctx, inv); err != nil {
			r.logger.Warn("store investigation failed", "id", inv.ID, "err", err)
		}
		return nil, ErrBusy
	}
}

func (r *Runner) work(ctx context.Context) {
	defer r.wg.Done()
	for inv := range r.queue {
		if !r.settle(ctx, &inv) {
			continue // stopping: left running in the store, like a queued one
		}
		rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		r.Run(rctx, &inv)
		cancel()
	}
}

// maxSettleWait bounds the wait for a window that ends in the future (an
// incident's first run looks at least 30 s past its opening).
const maxSettleWait = time.Minute

// settle waits until the investigation's window has had Settle to arrive
// in full, telling so on its progress; a window still open after
// maxSettleWait is cut at now - Settle, and the cut range is what the run
// records and reads. It returns false when the runner stops meanwhile.
func (r *Runner) settle(ctx context.Context, inv *domain.Investigation) bool {
	if r.cfg.Settle == 0 {
		return true
	}
	wait := time.Unix(0, inv.Scope.Range.End).Add(r.cfg.Settle).Sub(r.now())
	if wait <= 0 {
		return true
	}
	wait = min(wait, maxSettleWait)
	r.line(ctx, inv, "thought", "", fmt.Sprintf("Waiting %s for the window's telemetry to arrive (exporters send in batches, each service on its own).",
		wait.Round(time.Second)))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-r.stopping:
		return false
	case <-t.C:
	}
	if cut := r.now().Add(-r.cfg.Settle).UnixNano(); inv.Scope.Range.End > cut {
		inv.Scope.Range.End = max(cut, inv.Scope.Range.Start+1)
	}
	return true
}

// New builds an investigation of a scope (not stored yet).
func (r *Runner) New(tenant, trigger string, scope domain.InvestigationScope) domain.Investigation {
	now := r.now()
	if scope.Baseline.End == 0 {
		scope.Baseline = domain.TimeRange{Start: scope.Range.Start - int64(r.cfg.Baseline), End: scope.Range.Start}
	}
	return domain.Investigation{Tenant: tenant, ID: "inv-" + domain.NewID(), Trigger: trigger, Status: domain.InvestigationRunning,
		Scope: scope, StartedNano: now.UnixNano()}
}

// ForIncident starts, once, the investigation of an incident as it now
// stands: its window runs from a minute before it opened to now (at most
// ten minutes after), against the half hour before. An incident that
// gains services is investigated again; one that only gains anomalies of
// the same services is not.
func (r *Runner) ForIncident(ctx context.Context, in domain.Incident) (*domain.Investigation, error) {
	if in.Status == domain.IncidentResolved || len(in.Services) == 0 {
		return nil, nil
	}
	now := r.now().UnixNano()
	start := in.OpenedNano - int64(time.Minute)
	end := min(max(now, in.OpenedNano+int64(30*time.Second)), in.OpenedNano+int64(10*time.Minute))
	inv := r.New(in.Tenant, "incident", domain.InvestigationScope{Range: domain.TimeRange{Start: start, End: end}})
	inv.ID = IncidentRunID(in)
	inv.IncidentID = in.ID
	inv.Services = append([]string(nil), in.Services...)
	return r.Submit(ctx, inv)
}

// OnDone tells fn of every investigation that finishes; set before Start.
func (r *Runner) OnDone(fn func(ctx context.Context, inv domain.Investigation)) { r.d.OnDone = fn }

// Watch is told of every change to an incident (by the grouping) and
// starts its investigation when it opened or gained services; it does not
// block. Runs already started are remembered, so that the store is not
// asked again at every change.
func (r *Runner) Watch(in domain.Incident) {
	id := IncidentRunID(in)
	r.mu.Lock()
	if r.launched[id] || !r.started || r.stopped || in.Status == domain.IncidentResolved {
		r.mu.Unlock()
		return
	}
	if len(r.launched) > 10_000 {
		clear(r.launched)
	}
	r.launched[id] = true
	r.wg.Add(1) // under the lock, so that Shutdown's Wait sees it
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := r.ForIncident(ctx, in); err != nil {
			r.logger.Warn("incident investigation not started", "incident", in.ID, "err", err)
		}
	}()
}

// IncidentRunID names the run of an incident with its current services:
// the same services, the same run.
func IncidentRunID(in domain.Incident) string {
	svcs := append([]string(nil), in.Services...)
	sort.Strings(svcs)
	h := sha256.Sum256([]byte(strings.Join(svcs, "\x00")))
	return "inv-" + in.ID + "-" + hex.EncodeToString(h[:4])
}

// fresh is a new run of an earlier investigation's question.
func fresh(old domain.Investigation, id string, now time.Time) domain.Investigation {
	return domain.Investigation{Tenant: old.Tenant, ID: id, IncidentID: old.IncidentID, Trigger: old.Trigger,
		Status: domain.InvestigationRunning, Scope: old.Scope, Services: old.Services, StartedNano: now.UnixNano()}
}

// line records and publishes one line of progress, and stores the
// investigation with it.
func (r *Runner) line(ctx context.Context, inv *domain.Investigation, kind, step, text string) {
	p := domain.InvestigationProgress{Tenant: inv.Tenant, InvestigationID: inv.ID, Seq: len(inv.Progress) + 1, Kind: kind,
		Step: step, Text: text, TimeUnixNano: r.now().UnixNano(), Status: inv.Status}
	inv.Progress = append(inv.Progress, p)
	// Stored even when the run's context has ended (an interrupted or
	// timed-out run must say so).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.d.Store.PutInvestigation(sctx, *inv); err != nil {
		r.logger.Warn("store investigation failed", "id", inv.ID, "err", err)
	}
	if r.d.Publish != nil {
		r.d.Publish(p)
	}
}

package incidents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/agents/signals"
	"github.com/inquest/inquest/agents/topology"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/updates"
)

// GroupConfig says how anomalies make incidents.
type GroupConfig struct {
	// GroupWindow is how recently an incident must have changed to take in
	// a new anomaly (5 min).
	GroupWindow time.Duration
	// ResolveAfter resolves an incident whose anomalies have all ended this
	// long ago (5 min).
	ResolveAfter time.Duration
}

// DefaultGroupConfig groups within 5 minutes and resolves after 5 quiet
// minutes.
func DefaultGroupConfig() GroupConfig {
	return GroupConfig{GroupWindow: 5 * time.Minute, ResolveAfter: 5 * time.Minute}
}

// GroupStore is what grouping reads and writes: incidents, and the
// service graph it groups by.
type GroupStore interface {
	storage.IncidentStore
	topology.Source
}

// Grouper turns the detector's anomalies into incidents: anomalies close
// in time and neighbours in the service graph (or following a deploy of a
// neighbour) form one incident, its services root-most first. It owns the
// incidents it opened until they resolve, and writes them with
// compare-and-set so that people's changes (Lifecycle) are kept. The
// detector calls it through the sink it declares; it is safe for
// concurrent use.
type Grouper struct {
	cfg    GroupConfig
	store  GroupStore
	broker *updates.Broker
	notify func(domain.Incident, string)
	watch  []func(domain.Incident)
	topo   *topology.Cache
	logger *slog.Logger
	now    func() time.Time
	opened prometheus.Counter

	mu        sync.Mutex
	incidents map[string]*domain.Incident        // open or acknowledged, by tenant/id
	anomalies map[string]*domain.Anomaly         // ongoing, by tenant/id
	deploys   map[string]map[string]domain.Event // tenant -> service -> last deploy
	dirty     map[string]string                  // incidents changed this tick, and why
	born      map[string]bool                    // incidents opened this tick
}

// NewGrouper groups into store and publishes incident changes to broker
// (nil: nobody); a nil logger discards.
func NewGrouper(cfg GroupConfig, store GroupStore, broker *updates.Broker, reg prometheus.Registerer, logger *slog.Logger) *Grouper {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := &Grouper{cfg: cfg, store: store, broker: broker, logger: logger, now: time.Now,
		incidents: map[string]*domain.Incident{}, anomalies: map[string]*domain.Anomaly{}, deploys: map[string]map[string]domain.Event{},
		dirty: map[string]string{}, born: map[string]bool{},
		opened: prometheus.NewCounter(prometheus.CounterOpts{Name: "inquest_detection_incidents_total", Help: "Incidents opened."})}
	if reg != nil {
		reg.MustRegister(g.opened)
	}
	g.topo = topology.NewCache(store, 15*time.Minute, 30*time.Second, logger)
	g.topo.SetClock(func() time.Time { return g.now() })
	return g
}

// SetClock makes grouping read time from now (the detector's clock, so that
// replays and tests agree).
func (g *Grouper) SetClock(now func() time.Time) { g.now = now }

// OnIncident sets a function told of incident changes worth a notification
// ("opened", "escalated", "resolved", ...); it must not block.
func (g *Grouper) OnIncident(fn func(domain.Incident, string)) { g.notify = fn }

// Watch adds a function told of every change the grouping makes to an
// incident (opened, joined by anomalies, ended), after it is stored: the
// investigations start from it. It must not block. Call it before Start.
func (g *Grouper) Watch(fn func(domain.Incident)) { g.watch = append(g.watch, fn) }

// Deployed notes a deploy of a service: anomalies near it shortly after
// belong together, and the incident's timeline shows the change.
func (g *Grouper) Deployed(d domain.Event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deploys[d.Tenant] == nil {
		g.deploys[d.Tenant] = map[string]domain.Event{}
	}
	g.deploys[d.Tenant][d.Service] = d
}

// deploySlack is how long after an anomaly's start a deploy still counts
// as its onset: the anomaly starts at its step's beginning, and the deploy
// event may be stamped a few seconds into the step.
const deploySlack = 30 * time.Second

// nearOnset tells whether the deploy came shortly before the anomaly
// began (or within its first step).
func nearOnset(d domain.Event, a *domain.Anomaly) bool {
	gap := a.StartNano - d.TimeUnixNano
	return gap <= int64(deployWindow) && gap >= -int64(deploySlack)
}

// describeDeploy is a deploy's timeline entry: what changed, by whom, and
// how long before the anomaly it came.
func describeDeploy(d domain.Event, before time.Duration) string {
	attr := func(k string) string {
		for i, key := range d.Attrs.Keys {
			if key == k {
				return d.Attrs.Values[i]
			}
		}
		return ""
	}
	text := d.Service + " deployed"
	if v := attr("version"); v != "" {
		text += " " + v
	}
	var about []string
	if v := attr("previous_version"); v != "" {
		about = append(about, "was "+v)
	}
	if c := attr("commit"); c != "" {
		about = append(about, "commit "+c)
	}
	if a := attr("author"); a != "" {
		about = append(about, "by "+a)
	}
	if len(about) > 0 {
		text += " (" + strings.Join(about, ", ") + ")"
	}
	if before >= 0 {
		text += fmt.Sprintf(", %s before the anomaly", before.Round(time.Second))
	} else {
		text += fmt.Sprintf(", %s into the anomaly's first step", (-before).Round(time.Second))
	}
	if desc := attr("description"); desc != "" {
		text += ": " + desc
	}
	return text
}

// Shutdown has nothing to stop: every change is stored when it is made.
func (g *Grouper) Shutdown(context.Context) error { return nil }

// deployWindow is how long after a deploy anomalies near the deployed
// service are taken to share it.
const deployWindow = 30 * time.Minute

// graph is the tenant's service graph of the last 15 minutes, cached for
// 30 s: grouping asks it for every new anomaly.
func (g *Grouper) graph(ctx context.Context, tenant string) topology.Graph {
	return g.topo.Graph(ctx, tenant)
}

// related tells whether an anomaly belongs to an incident: the same
// service or a neighbour in the service graph, or within two hops of a
// service of the incident that was deployed shortly before.
func (g *Grouper) related(in *domain.Incident, a *domain.Anomaly, graph topology.Graph) bool {
	if a.Service == "" {
		return false
	}
	deploys := g.deploys[a.Tenant]
	for _, s := range in.Services {
		d := graph.Hops(s, a.Service, 2)
		if d <= 1 {
			return true
		}
		if dep, ok := deploys[s]; ok && d <= 2 && nearOnset(dep, a) {
			return true
		}
	}
	return false
}

// Group attaches the anomalies opened in the steps just scored to
// incidents (setting their IncidentID), then stores and publishes the
// incidents that changed. An anomaly related to several incidents joins
// them into the oldest (checkout joins the incident of payment, which it
// calls, and of frontend, which calls it). The detector stores and
// publishes the anomalies themselves afterwards.
func (g *Grouper) Group(ctx context.Context, fresh []*domain.Anomaly) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, a := range fresh {
		g.anomalies[a.Tenant+"/"+a.ID] = a
		if groupable(a) {
			g.attach(ctx, a)
		}
	}
	for key, reason := range g.dirty {
		if in, ok := g.incidents[key]; ok {
			g.refresh(in, g.graph(ctx, in.Tenant))
			g.save(ctx, in, reason)
		}
	}
	clear(g.dirty)
	clear(g.born)
}

// groupable tells whether an anomaly may open or join an incident. A
// metric series whose baseline is zero (a counter of rare errors, a
// status-code series that appears with its first error) is recorded and
// streamed but does not drive incidents: the first such error is an
// anomaly by every measure and means little; the RED series of the spans
// judge error ratios with a floor.
func groupable(a *domain.Anomaly) bool {
	return !strings.HasPrefix(a.Series, "metric:") || a.Expected != 0
}

// mark notes an incident change to store and publish at the end of the
// tick, keeping the strongest reason.
func (g *Grouper) mark(key, reason string) {
	if rank := map[string]int{"changed": 0, "escalated": 1, "opened": 2}; rank[reason] >= rank[g.dirty[key]] {
		g.dirty[key] = reason
	}
}

// attach puts a new anomaly into the related open incidents (merging
// them), or opens one.
func (g *Grouper) attach(ctx context.Context, a *domain.Anomaly) {
	edges := g.graph(ctx, a.Tenant)
	now := g.now().UnixNano()
	var related []*domain.Incident
	for _, in := range g.incidents {
		if in.Tenant != a.Tenant || now-in.UpdatedNano > int64(g.cfg.GroupWindow) && !g.ongoing(in) {
			continue
		}
		if g.related(in, a, edges) {
			related = append(related, in)
		}
	}
	sort.Slice(related, func(i, j int) bool {
		if related[i].OpenedNano != related[j].OpenedNano {
			return related[i].OpenedNano < related[j].OpenedNano
		}
		return related[i].ID < related[j].ID
	})
	event := domain.IncidentEvent{TimeUnixNano: a.StartNano, Kind: "anomaly", Text: a.Explanation}
	var target *domain.Incident
	if len(related) == 0 && a.Severity == "low" {
		return // a low anomaly may join an incident but does not open one
	}
	if len(related) == 0 {
		target = &domain.Incident{Tenant: a.Tenant, ID: domain.NewID(), Status: domain.IncidentOpen, OpenedNano: a.StartNano,
			Severity: a.Severity}
		key := a.Tenant + "/" + target.ID
		g.incidents[key] = target
		g.born[key] = true
		g.opened.Inc()
		event.Kind = "opened"
		g.mark(key, "opened")
	} else {
		target = related[0]
		for _, other := range related[1:] {
			g.absorb(target, other, now, "")
		}
	}
	key := a.Tenant + "/" + target.ID
	a.IncidentID = target.ID
	target.AnomalyIDs = append(target.AnomalyIDs, a.ID)
	target.Timeline = append(target.Timeline, event)
	if a.Service != "" && !contains(target.Services, a.Service) {
		target.Services = append(target.Services, a.Service)
		if dep, ok := g.deploys[a.Tenant][a.Service]; ok && nearOnset(dep, a) {
			target.Timeline = append(target.Timeline, domain.IncidentEvent{TimeUnixNano: dep.TimeUnixNano, Kind: "deploy",
				Text: describeDeploy(dep, time.Duration(a.StartNano-dep.TimeUnixNano))})
		}
	}
	if domain.SeverityRank(a.Severity) > domain.SeverityRank(target.Severity) {
		target.Severity = a.Severity
		g.mark(key, "escalated")
	}
	target.UpdatedNano = now
	g.mark(key, "changed")
}

// absorb moves src's anomalies, services and timeline into dst. src is
// dropped when it was opened in this tick (nobody heard of it yet) and
// resolved as merged otherwise.
func (g *Grouper) absorb(dst, src *domain.Incident, now int64, actor string) {
	merge(dst, src)
	for _, aid := range src.AnomalyIDs {
		if a, ok := g.anomalies[src.Tenant+"/"+aid]; ok {
			a.IncidentID = dst.ID
		}
	}
	key := src.Tenant + "/" + src.ID
	delete(g.incidents, key)
	if g.born[key] {
		delete(g.dirty, key)
		delete(g.born, key)
		if g.dirty[dst.Tenant+"/"+dst.ID] == "" || g.born[dst.Tenant+"/"+dst.ID] {
			g.mark(dst.Tenant+"/"+dst.ID, "opened")
		}
		return
	}
	if markMerged(src, dst.ID, now, actor) == nil {
		g.save(context.Background(), src, "merged")
	}
}

// Raised re-grades the incident of an anomaly whose severity rose.
func (g *Grouper) Raised(ctx context.Context, a *domain.Anomaly) {
	g.mu.Lock()
	defer g.mu.Unlock()
	in := g.incidents[a.Tenant+"/"+a.IncidentID]
	if in == nil || domain.SeverityRank(a.Severity) <= domain.SeverityRank(in.Severity) {
		return
	}
	in.Severity = a.Severity
	in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: g.now().UnixNano(), Kind: "escalated",
		Text: fmt.Sprintf("severity %s: %s", a.Severity, a.Explanation)})
	g.refresh(in, g.graph(ctx, a.Tenant))
	g.save(ctx, in, "escalated")
}

// Ended notes on its incident's timeline that an anomaly is back inside
// its band; the quiet time before the incident resolves counts from here.
func (g *Grouper) Ended(ctx context.Context, a *domain.Anomaly) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.anomalies, a.Tenant+"/"+a.ID)
	in := g.incidents[a.Tenant+"/"+a.IncidentID]
	if in == nil {
		return
	}
	in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: a.EndNano, Kind: "anomaly_ended",
		Text: fmt.Sprintf("%s back inside its band", strings.TrimPrefix(a.Series, "red:"))})
	in.UpdatedNano = g.now().UnixNano() // the quiet time before resolving counts from here
	g.save(ctx, in, "changed")
}

// ongoing tells whether any of the incident's anomalies goes on.
func (g *Grouper) ongoing(in *domain.Incident) bool {
	for _, id := range in.AnomalyIDs {
		if _, ok := g.anomalies[in.Tenant+"/"+id]; ok {
			return true
		}
	}
	return false
}

// Housekeep resolves incidents whose anomalies all ended ResolveAfter ago.
func (g *Grouper) Housekeep(ctx context.Context, now int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for key, in := range g.incidents {
		if g.ongoing(in) || now-in.UpdatedNano < int64(g.cfg.ResolveAfter) {
			continue
		}
		if resolve(in, now, "", fmt.Sprintf("every series back inside its band for %s", g.cfg.ResolveAfter)) == nil {
			g.save(ctx, in, "resolved")
		}
		delete(g.incidents, key)
	}
}

// refresh orders the services root-most first and writes the title.
func (g *Grouper) refresh(in *domain.Incident, graph topology.Graph) {
	graph.RootFirst(in.Services)
	in.Title = g.title(in)
	in.UpdatedNano = g.now().UnixNano()
}

// title names the root-most service and its strongest anomaly.
func (g *Grouper) title(in *domain.Incident) string {
	if len(in.Services) == 0 {
		return "anomaly"
	}
	root := in.Services[0]
	var best *domain.Anomaly
	for _, id := range in.AnomalyIDs {
		if a, ok := g.anomalies[in.Tenant+"/"+id]; ok && a.Service == root && (best == nil || a.Score > best.Score) {
			best = a
		}
	}
	t := root
	switch {
	case best != nil && best.Signal == signals.SLOBurn:
		// In the SLO's own terms: a burn rate, never a ratio.
		t = fmt.Sprintf("%s: error budget burning %s", root, signals.Format(best.Signal, best.Observed))
		if slo := sloOf(best.Detector); slo != "" {
			t += " (" + slo + ")"
		}
	case best != nil:
		t = fmt.Sprintf("%s: %s %s (expected %s)", root, signals.Name(best.Signal), signals.Format(best.Signal, best.Observed),
			signals.Format(best.Signal, best.Expected))
		if best.Operation != "" {
			t = fmt.Sprintf("%s %s: %s %s (expected %s)", root, best.Operation, signals.Name(best.Signal),
				signals.Format(best.Signal, best.Observed), signals.Format(best.Signal, best.Expected))
		}
	}
	if len(in.Services) > 1 {
		t += "; also " + strings.Join(in.Services[1:], ", ")
	}
	return t
}

// sloOf reads "SLO 99.9%" out of a burn-rate detector's name.
func sloOf(detector string) string {
	i := strings.Index(detector, "SLO ")
	if i < 0 {
		return ""
	}
	s := detector[i:]
	if j := strings.IndexAny(s, ",)"); j > 0 {
		s = s[:j]
	}
	return s
}

// save persists an incident and tells subscribers and the notifier.
func (g *Grouper) save(ctx context.Context, in *domain.Incident, reason string) {
	if err := g.write(ctx, in); err != nil {
		g.logger.Error("store incident failed", "err", err)
	}
	if in.Status == domain.IncidentResolved && reason != "resolved" && reason != "merged" {
		// A person resolved it meanwhile: nothing more to say of it here.
		delete(g.incidents, in.Tenant+"/"+in.ID)
	}
	if g.broker != nil {
		g.broker.Publish(updates.Update{Incident: in})
	}
	if g.notify != nil && reason != "changed" {
		g.notify(in.Clone(), reason)
	}
	for _, w := range g.watch {
		w(in.Clone())
	}
}

// Sync reads the open incidents back from the store before a tick: a
// person may have acknowledged, resolved or merged one through any process
// since. A newer version replaces the copy held here; a resolved one is
// let go.
func (g *Grouper) Sync(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for key, in := range g.incidents {
		if g.born[key] {
			continue
		}
		stored, err := g.store.Incident(ctx, in.Tenant, in.ID)
		if err != nil {
			if !errors.Is(err, storage.ErrNotFound) {
				g.logger.Warn("reading incident back failed", "incident", in.ID, "err", err)
			}
			continue
		}
		if stored.Version <= in.Version {
			continue
		}
		if stored.Status == domain.IncidentResolved {
			delete(g.incidents, key)
			continue
		}
		g.incidents[key] = stored
	}
}

// Accepted tells whether a person accepted the level of the anomaly's
// incident as the new normal since the anomaly began.
func (g *Grouper) Accepted(a *domain.Anomaly) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	in, ok := g.incidents[a.Tenant+"/"+a.IncidentID]
	return ok && a.IncidentID != "" && AcceptedSince(in, a.StartNano)
}

// Start takes up the unresolved incidents of the store, so
// that a restarted detector adds new anomalies to them instead of opening
// new ones. The restart counts as their last change (the baselines need
// their warm-up before anything can join). Their old anomalies are not
// watched any more: an incident whose anomalies were all from before the
// restart resolves after ResolveAfter unless new ones join it.
func (g *Grouper) Start(ctx context.Context) error {
	open, err := g.store.OpenIncidents(ctx)
	if err != nil {
		// Not fatal: new anomalies open new incidents.
		g.logger.Error("loading open incidents failed; new anomalies open new incidents", "err", err)
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now().UnixNano()
	for i := range open {
		in := open[i]
		in.UpdatedNano = max(in.UpdatedNano, now)
		g.incidents[in.Tenant+"/"+in.ID] = &in
	}
	return nil
}

// write stores an incident changed by the detector with a compare-and-set
// on the version it read. When a person changed it meanwhile, their change
// is kept: the status, who acknowledged and when it was resolved come from
// the stored copy, the timelines are joined, and the write is tried again.
func (g *Grouper) write(ctx context.Context, in *domain.Incident) error {
	return storage.CompareAndSet(ctx, "incident "+in.ID, func(attempt int) error {
		if attempt > 0 {
			stored, err := g.store.Incident(ctx, in.Tenant, in.ID)
			if err != nil {
				return err
			}
			keepTheirs(in, stored)
		}
		if err := g.store.UpdateIncident(ctx, in.Clone(), in.Version); err != nil {
			return err
		}
		in.Version++
		return nil
	})
}

// keepTheirs folds a concurrent change from the store into the detector's
// copy: people own the status; the detector owns anomalies and services.
func keepTheirs(mine, theirs *domain.Incident) {
	mine.Version = theirs.Version
	mine.Status, mine.AcknowledgedBy, mine.ResolvedNano = theirs.Status, theirs.AcknowledgedBy, theirs.ResolvedNano
	mine.AnomalyIDs = union(mine.AnomalyIDs, theirs.AnomalyIDs)
	mine.Services = union(mine.Services, theirs.Services)
	seen := map[domain.IncidentEvent]bool{}
	for _, ev := range mine.Timeline {
		seen[ev] = true
	}
	for _, ev := range theirs.Timeline {
		if !seen[ev] {
			mine.Timeline = append(mine.Timeline, ev)
		}
	}
	sort.SliceStable(mine.Timeline, func(i, j int) bool { return mine.Timeline[i].TimeUnixNano < mine.Timeline[j].TimeUnixNano })
}

package detection

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/inquest/inquest/agents/topology"
	"github.com/inquest/inquest/agents/updates"
	"github.com/inquest/inquest/storage"
)

// deployWindow is how long after a deploy anomalies near the deployed
// service are taken to share it.
const deployWindow = 30 * time.Minute

// graph is the tenant's service graph of the last 15 minutes, cached for
// 30 s: grouping asks it for every new anomaly.
func (e *Engine) graph(ctx context.Context, tenant string) topology.Graph {
	return e.topo.Graph(ctx, tenant)
}

// related tells whether an anomaly belongs to an incident: the same
// service or a neighbour in the service graph, or within two hops of a
// service of the incident that was deployed shortly before.
func (e *Engine) related(in *storage.Incident, a *storage.Anomaly, g topology.Graph) bool {
	if a.Service == "" {
		return false
	}
	deploys := e.deploys[a.Tenant]
	for _, s := range in.Services {
		d := g.Hops(s, a.Service, 2)
		if d <= 1 {
			return true
		}
		if t, ok := deploys[s]; ok && d <= 2 && a.StartNano >= t && a.StartNano-t <= int64(deployWindow) {
			return true
		}
	}
	return false
}

// group attaches the anomalies opened in this tick to incidents, then
// stores and publishes what changed. An anomaly related to several
// incidents joins them into the oldest (checkout joins the incident of
// payment, which it calls, and of frontend, which calls it).
func (e *Engine) group(ctx context.Context) {
	for _, a := range e.fresh {
		if groupable(a) {
			e.attach(ctx, a)
		}
	}
	for _, a := range e.fresh {
		e.persistAnomaly(ctx, a)
		e.broker.Publish(updates.Update{Anomaly: a})
	}
	e.fresh = e.fresh[:0]
	for key, reason := range e.dirty {
		if in, ok := e.incidents[key]; ok {
			e.refresh(in, e.graph(ctx, in.Tenant))
			e.save(ctx, in, reason)
		}
	}
	clear(e.dirty)
	clear(e.born)
}

// groupable tells whether an anomaly may open or join an incident. A
// metric series whose baseline is zero (a counter of rare errors, a
// status-code series that appears with its first error) is recorded and
// streamed but does not drive incidents: the first such error is an
// anomaly by every measure and means little; the RED series of the spans
// judge error ratios with a floor.
func groupable(a *storage.Anomaly) bool {
	return !strings.HasPrefix(a.Series, "metric:") || a.Expected != 0
}

// mark notes an incident change to store and publish at the end of the
// tick, keeping the strongest reason.
func (e *Engine) mark(key, reason string) {
	if rank := map[string]int{"changed": 0, "escalated": 1, "opened": 2}; rank[reason] >= rank[e.dirty[key]] {
		e.dirty[key] = reason
	}
}

// attach puts a new anomaly into the related open incidents (merging
// them), or opens one.
func (e *Engine) attach(ctx context.Context, a *storage.Anomaly) {
	edges := e.graph(ctx, a.Tenant)
	now := e.now().UnixNano()
	var related []*storage.Incident
	for _, in := range e.incidents {
		if in.Tenant != a.Tenant || now-in.UpdatedNano > int64(e.cfg.GroupWindow) && !e.ongoing(in) {
			continue
		}
		if e.related(in, a, edges) {
			related = append(related, in)
		}
	}
	sort.Slice(related, func(i, j int) bool {
		if related[i].OpenedNano != related[j].OpenedNano {
			return related[i].OpenedNano < related[j].OpenedNano
		}
		return related[i].ID < related[j].ID
	})
	event := storage.IncidentEvent{TimeUnixNano: a.StartNano, Kind: "anomaly", Text: a.Explanation}
	var target *storage.Incident
	if len(related) == 0 && a.Severity == "low" {
		return // a low anomaly may join an incident but does not open one
	}
	if len(related) == 0 {
		target = &storage.Incident{Tenant: a.Tenant, ID: storage.NewID(), Status: storage.IncidentOpen, OpenedNano: a.StartNano,
			Severity: a.Severity}
		key := a.Tenant + "/" + target.ID
		e.incidents[key] = target
		e.born[key] = true
		e.incidentsTotal.Inc()
		event.Kind = "opened"
		e.mark(key, "opened")
	} else {
		target = related[0]
		for _, other := range related[1:] {
			e.absorb(target, other, now, "")
		}
	}
	key := a.Tenant + "/" + target.ID
	a.IncidentID = target.ID
	target.AnomalyIDs = append(target.AnomalyIDs, a.ID)
	target.Timeline = append(target.Timeline, event)
	if a.Service != "" && !contains(target.Services, a.Service) {
		target.Services = append(target.Services, a.Service)
		if t, ok := e.deploys[a.Tenant][a.Service]; ok && a.StartNano-t <= int64(deployWindow) && a.StartNano >= t {
			target.Timeline = append(target.Timeline, storage.IncidentEvent{TimeUnixNano: t, Kind: "deploy",
				Text: fmt.Sprintf("%s was deployed %s before", a.Service, time.Duration(a.StartNano-t).Round(time.Second))})
		}
	}
	if rank(a.Severity) > rank(target.Severity) {
		target.Severity = a.Severity
		e.mark(key, "escalated")
	}
	target.UpdatedNano = now
	e.mark(key, "changed")
}

// absorb moves src's anomalies, services and timeline into dst. src is
// dropped when it was opened in this tick (nobody heard of it yet) and
// resolved as merged otherwise.
func (e *Engine) absorb(dst, src *storage.Incident, now int64, actor string) {
	dst.AnomalyIDs = append(dst.AnomalyIDs, src.AnomalyIDs...)
	for _, s := range src.Services {
		if !contains(dst.Services, s) {
			dst.Services = append(dst.Services, s)
		}
	}
	for _, aid := range src.AnomalyIDs {
		if a, ok := e.anomalies[src.Tenant+"/"+aid]; ok {
			a.IncidentID = dst.ID
		}
	}
	dst.Timeline = append(dst.Timeline, src.Timeline...)
	sort.SliceStable(dst.Timeline, func(i, j int) bool { return dst.Timeline[i].TimeUnixNano < dst.Timeline[j].TimeUnixNano })
	if rank(src.Severity) > rank(dst.Severity) {
		dst.Severity = src.Severity
	}
	if src.OpenedNano < dst.OpenedNano {
		dst.OpenedNano = src.OpenedNano
	}
	key := src.Tenant + "/" + src.ID
	delete(e.incidents, key)
	if e.born[key] {
		delete(e.dirty, key)
		delete(e.born, key)
		if e.dirty[dst.Tenant+"/"+dst.ID] == "" || e.born[dst.Tenant+"/"+dst.ID] {
			e.mark(dst.Tenant+"/"+dst.ID, "opened")
		}
		return
	}
	src.Status, src.ResolvedNano = storage.IncidentResolved, now
	text := "merged into " + dst.ID
	if actor != "" {
		text += " by " + actor
	}
	src.Timeline = append(src.Timeline, storage.IncidentEvent{TimeUnixNano: now, Kind: "merged", Actor: actor, Text: text})
	e.save(context.Background(), src, "merged")
}

// raise re-grades the incident of an anomaly whose severity rose.
func (e *Engine) raise(ctx context.Context, a *storage.Anomaly) {
	in := e.incidents[a.Tenant+"/"+a.IncidentID]
	if in == nil || rank(a.Severity) <= rank(in.Severity) {
		return
	}
	in.Severity = a.Severity
	in.Timeline = append(in.Timeline, storage.IncidentEvent{TimeUnixNano: e.now().UnixNano(), Kind: "escalated",
		Text: fmt.Sprintf("severity %s: %s", a.Severity, a.Explanation)})
	e.refresh(in, e.graph(ctx, a.Tenant))
	e.save(ctx, in, "escalated")
}

func (e *Engine) anomalyEnded(ctx context.Context, a *storage.Anomaly) {
	in := e.incidents[a.Tenant+"/"+a.IncidentID]
	if in == nil {
		return
	}
	in.Timeline = append(in.Timeline, storage.IncidentEvent{TimeUnixNano: a.EndNano, Kind: "anomaly_ended",
		Text: fmt.Sprintf("%s back inside its band", strings.TrimPrefix(a.Series, "red:"))})
	in.UpdatedNano = e.now().UnixNano() // the quiet time before resolving counts from here
	e.save(ctx, in, "changed")
}

// ongoing tells whether any of the incident's anomalies goes on.
func (e *Engine) ongoing(in *storage.Incident) bool {
	for _, id := range in.AnomalyIDs {
		if _, ok := e.anomalies[in.Tenant+"/"+id]; ok {
			return true
		}
	}
	return false
}

// resolveQuiet resolves incidents whose anomalies all ended ResolveAfter
// ago.
func (e *Engine) resolveQuiet(ctx context.Context, now int64) {
	for key, in := range e.incidents {
		if e.ongoing(in) || now-in.UpdatedNano < int64(e.cfg.ResolveAfter) {
			continue
		}
		in.Status, in.ResolvedNano = storage.IncidentResolved, now
		in.Timeline = append(in.Timeline, storage.IncidentEvent{TimeUnixNano: now, Kind: "resolved",
			Text: fmt.Sprintf("every series back inside its band for %s", e.cfg.ResolveAfter)})
		e.save(ctx, in, "resolved")
		delete(e.incidents, key)
	}
}

// refresh orders the services root-most first and writes the title.
func (e *Engine) refresh(in *storage.Incident, g topology.Graph) {
	g.RootFirst(in.Services)
	in.Title = e.title(in)
	in.UpdatedNano = e.now().UnixNano()
}

// title names the root-most service and its strongest anomaly.
func (e *Engine) title(in *storage.Incident) string {
	if len(in.Services) == 0 {
		return "anomaly"
	}
	root := in.Services[0]
	var best *storage.Anomaly
	for _, id := range in.AnomalyIDs {
		if a, ok := e.anomalies[in.Tenant+"/"+id]; ok && a.Service == root && (best == nil || a.Score > best.Score) {
			best = a
		}
	}
	t := root
	if best != nil {
		t = fmt.Sprintf("%s: %s %s (expected %s)", root, signalNames[best.Signal], format(best.Signal, best.Observed),
			format(best.Signal, best.Expected))
		if best.Operation != "" {
			t = fmt.Sprintf("%s %s: %s %s (expected %s)", root, best.Operation, signalNames[best.Signal],
				format(best.Signal, best.Observed), format(best.Signal, best.Expected))
		}
	}
	if len(in.Services) > 1 {
		t += "; also " + strings.Join(in.Services[1:], ", ")
	}
	return t
}

// save persists an incident and tells subscribers and the notifier.
func (e *Engine) save(ctx context.Context, in *storage.Incident, reason string) {
	if err := e.write(ctx, in); err != nil {
		e.logger.Error("store incident failed", "err", err)
	}
	if in.Status == storage.IncidentResolved && reason != "resolved" && reason != "merged" {
		// A person resolved it meanwhile: nothing more to say of it here.
		delete(e.incidents, in.Tenant+"/"+in.ID)
	}
	e.broker.Publish(updates.Update{Incident: in})
	if e.notify != nil && reason != "changed" {
		e.notify(in.Clone(), reason)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// syncIncidents reads the open incidents back from the store before a
// tick: a person may have acknowledged, resolved or merged one through any
// process since. A newer version replaces the copy held here; a resolved
// one is let go.
func (e *Engine) syncIncidents(ctx context.Context) {
	for key, in := range e.incidents {
		if e.born[key] {
			continue
		}
		stored, err := e.store.Incident(ctx, in.Tenant, in.ID)
		if err != nil {
			if !errors.Is(err, storage.ErrNotFound) {
				e.logger.Warn("reading incident back failed", "incident", in.ID, "err", err)
			}
			continue
		}
		if stored.Version <= in.Version {
			continue
		}
		if stored.Status == storage.IncidentResolved {
			delete(e.incidents, key)
			continue
		}
		e.incidents[key] = stored
	}
}

// LoadOpenIncidents takes up the unresolved incidents of the store, so
// that a restarted detector adds new anomalies to them instead of opening
// new ones. The restart counts as their last change (the baselines need
// their warm-up before anything can join). Their old anomalies are not
// watched any more: an incident whose anomalies were all from before the
// restart resolves after ResolveAfter unless new ones join it.
func (e *Engine) LoadOpenIncidents(ctx context.Context) error {
	open, err := e.store.OpenIncidents(ctx)
	if err != nil {
		return fmt.Errorf("load open incidents: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now().UnixNano()
	for i := range open {
		in := open[i]
		in.UpdatedNano = max(in.UpdatedNano, now)
		e.incidents[in.Tenant+"/"+in.ID] = &in
	}
	return nil
}

// write stores an incident changed by the detector with a compare-and-set
// on the version it read. When a person changed it meanwhile, their change
// is kept: the status, who acknowledged and when it was resolved come from
// the stored copy, the timelines are joined, and the write is tried again.
func (e *Engine) write(ctx context.Context, in *storage.Incident) error {
	for range 5 {
		c := in.Clone()
		err := e.store.UpdateIncident(ctx, c, in.Version)
		if err == nil {
			in.Version++
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return err
		}
		stored, rerr := e.store.Incident(ctx, in.Tenant, in.ID)
		if rerr != nil {
			return rerr
		}
		keepTheirs(in, stored)
	}
	return fmt.Errorf("incident %s: %w", in.ID, storage.ErrConflict)
}

// keepTheirs folds a concurrent change from the store into the detector's
// copy: people own the status; the detector owns anomalies and services.
func keepTheirs(mine, theirs *storage.Incident) {
	mine.Version = theirs.Version
	mine.Status, mine.AcknowledgedBy, mine.ResolvedNano = theirs.Status, theirs.AcknowledgedBy, theirs.ResolvedNano
	for _, id := range theirs.AnomalyIDs {
		if !contains(mine.AnomalyIDs, id) {
			mine.AnomalyIDs = append(mine.AnomalyIDs, id)
		}
	}
	for _, s := range theirs.Services {
		if !contains(mine.Services, s) {
			mine.Services = append(mine.Services, s)
		}
	}
	seen := map[storage.IncidentEvent]bool{}
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

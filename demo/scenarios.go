package demo

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/inquest/inquest/agents/remediate"
)

// Scenario is a fault the shop can play, with the root cause a good
// investigation names: the library investigations are measured on.
type Scenario struct {
	Name, Description string
	// Roots are the services an investigation may name first (two for a
	// fault with no single cause).
	Roots []string
	// Cause is what the root suffered (a storage.Cause* value).
	Cause string
	// start changes the shop at the fault time (under g.mu).
	start func(g *Generator, f *fault)
	// change, when set, is the change event the fault comes with.
	change func(now time.Time) map[string]any
}

// fault is how the shop behaves once a scenario has begun.
type fault struct {
	slow     map[string]float64 // a service's own work takes this many times longer
	errs     map[string]float64 // a share of a service's own work fails
	cpu      map[string]float64 // added to a service's CPU utilization
	rate     float64            // the request rate is this many times higher
	badCharg bool               // payment 2.3.1's slow, failing stripe_v3 charges
}

// DefaultScenario is what --demo plays unless told otherwise.
const DefaultScenario = "bad-deploy"

var scenarios = map[string]Scenario{
	"bad-deploy": {Description: "payment 2.3.1 is deployed; its stripe_v3 charges wait on an exhausted connection pool (slow, a third fail)",
		Roots: []string{"payment"}, Cause: "bad_deploy",
		start: func(_ *Generator, f *fault) { f.badCharg = true },
		change: func(now time.Time) map[string]any {
			return map[string]any{"timestamp": now.UTC().Format(time.RFC3339Nano), "kind": "event", "service": "payment", "name": "deploy",
				"change.type": "deploy", "version": BadVersion, "previous_version": GoodVersion,
				"commit": "9f3c2ab", "author": "ci-bot", "description": "payment: switch stripe_v3 client to new connection pool"}
		}},
	"slow-database": {Description: "postgres answers every query twenty times slower (a lock held by a migration)",
		Roots: []string{"postgres"}, Cause: "dependency_failure",
		start: func(_ *Generator, f *fault) { f.slow["postgres"] = 20 }},
	"dependency-errors": {Description: "shipping fails 40% of its quotes (its carrier API rejects them); checkouts fail with it",
		Roots: []string{"shipping"}, Cause: "dependency_failure",
		start: func(_ *Generator, f *fault) { f.errs["shipping"] = 0.4 }},
	"cpu-saturation": {Description: "inventory's CPU runs at its limit (a runaway reindex thread); its requests queue",
		Roots: []string{"inventory"}, Cause: "resource_saturation",
		start: func(_ *Generator, f *fault) { f.cpu["inventory"] = 0.65; f.slow["inventory"] = 6 }},
	"traffic-surge": {Description: "four times the usual requests arrive at the frontend (a marketing email went out)",
		Roots: []string{"frontend"}, Cause: "traffic_surge",
		start: func(_ *Generator, f *fault) { f.rate = 4 }},
	"config-change": {Description: "cart's cache is switched off by a configuration change; every cart request goes the long way",
		Roots: []string{"cart"}, Cause: "config_change",
		start: func(_ *Generator, f *fault) { f.slow["cart"] = 12 },
		change: func(now time.Time) map[string]any {
			return map[string]any{"timestamp": now.UTC().Format(time.RFC3339Nano), "kind": "change", "service": "cart", "name": "config",
				"change.type": "config", "key": "cache.enabled", "description": "cart: cache.enabled true -> false", "author": "ops-console"}
		}},
	"noisy-neighbour": {Description: "a batch job on shipping's node takes its CPU: shipping is throttled and slow",
		Roots: []string{"shipping"}, Cause: "resource_saturation",
		start: func(_ *Generator, f *fault) { f.cpu["shipping"] = 0.55; f.slow["shipping"] = 8 }},
	"two-faults": {Description: "no single cause: cart fails a fifth of its writes while shipping slows down, at once",
		Roots: []string{"cart", "shipping"}, Cause: "unknown",
		start: func(_ *Generator, f *fault) { f.errs["cart"] = 0.2; f.slow["shipping"] = 6 }},
}

// Scenarios lists the library, sorted by name.
func Scenarios() []Scenario {
	out := make([]Scenario, 0, len(scenarios))
	for name, s := range scenarios {
		s.Name = name
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ScenarioNamed finds a scenario, or says which exist.
func ScenarioNamed(name string) (Scenario, error) {
	s, ok := scenarios[name]
	if !ok {
		var names []string
		for _, s := range Scenarios() {
			names = append(names, s.Name)
		}
		return Scenario{}, fmt.Errorf("demo: no scenario %q (there are %v)", name, names)
	}
	s.Name = name
	return s, nil
}

// begin starts the scenario: the shop changes, and its change event (if
// any) is sent. The bad deploy also restarts payment as version 2.3.1.
func (g *Generator) begin(ctx context.Context, now time.Time) {
	f := &fault{slow: map[string]float64{}, errs: map[string]float64{}, cpu: map[string]float64{}, rate: 1}
	g.scenario.start(g, f)
	g.mu.Lock()
	g.faulted, g.fault = true, f
	g.mu.Unlock()
	g.logger.Warn("demo: fault begins", "scenario", g.scenario.Name, "what", g.scenario.Description)
	if f.badCharg {
		g.redeploy(ctx, "payment", BadVersion, g.rng.IntN(3))
	}
	if g.scenario.change != nil {
		g.sendChange(ctx, g.scenario.change(now))
	}
}

// slowness is how many times longer a service's own work takes now: as
// the fault has it, and a tenth longer for each time the usual load (a
// busy service queues).
func (g *Generator) slowness(svc string) float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fault == nil {
		return 1
	}
	f := 1 + 0.1*(max(g.fault.rate, 1)-1)
	if s := g.fault.slow[svc]; s > 0 {
		f *= s
	}
	return f
}

// own draws a service's own work around median, as the fault has it.
func (g *Generator) own(svc string, median time.Duration) time.Duration {
	return time.Duration(float64(g.latency(median)) * g.slowness(svc))
}

// fails tells whether a piece of a service's own work fails now.
func (g *Generator) fails(svc string) bool {
	g.mu.Lock()
	p := 0.0
	if g.fault != nil {
		p = g.fault.errs[svc]
	}
	g.mu.Unlock()
	return p > 0 && g.rng.Float64() < p
}

// rateFactor is how many times the usual rate arrives now.
func (g *Generator) rateFactor() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fault == nil || g.fault.rate == 0 {
		return 1
	}
	return g.fault.rate
}

// baseCPU and baseMemory are each service's usual CPU utilization (at the
// configured rate) and resident memory.
var (
	baseCPU = map[string]float64{"frontend": 0.22, "checkout": 0.18, "cart": 0.14, "payment": 0.16, "inventory": 0.28,
		"shipping": 0.10, "postgres": 0.34}
	baseMemory = map[string]float64{"frontend": 180e6, "checkout": 240e6, "cart": 120e6, "payment": 210e6, "inventory": 160e6,
		"shipping": 90e6, "postgres": 1.2e9}
)

// resourceGauges reports the service's CPU utilization and memory as the
// OpenTelemetry process metrics: the CPU follows the request rate and the
// fault, with a little noise.
func (g *Generator) resourceGauges(s *service) error {
	m := s.mp.Meter("inquest/demo")
	cpu, err := m.Float64ObservableGauge("process.cpu.utilization", metric.WithUnit("1"),
		metric.WithDescription("CPU used over the CPU available to the process."))
	if err != nil {
		return err
	}
	mem, err := m.Float64ObservableGauge("process.memory.usage", metric.WithUnit("By"),
		metric.WithDescription("Resident memory of the process."))
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		g.mu.Lock()
		load, add := 1.0, 0.0
		if g.fault != nil {
			load, add = max(g.fault.rate, 1), g.fault.cpu[s.name]
		}
		g.mu.Unlock()
		g.mmu.Lock()
		n1, n2 := g.mrng.NormFloat64(), g.mrng.NormFloat64()
		g.mmu.Unlock()
		o.ObserveFloat64(cpu, math.Min(1, math.Max(0.01, baseCPU[s.name]*load+add+0.015*n1)))
		o.ObserveFloat64(mem, baseMemory[s.name]*(1+0.01*n2))
		return nil
	}, cpu, mem)
	return err
}

// Remediate applies an approved proposal to the shop as its deployment
// system would: a rollback of payment restarts it at the version asked for
// (ending the bad deploy's fault if it is on), and any other action that
// changes the system on the service the fault hits relieves it (scaled out,
// restarted, reverted); the fault then stops there. A page or a ticket
// tells people and changes nothing. undo puts back what that proposal's
// remediation took away, and nothing else: by names the proposal.
func (g *Generator) Remediate(ctx context.Context, action, target string, params map[string]string, undo bool, by string) (string, error) {
	if undo {
		return g.undo(ctx, action, target, by), nil
	}
	if remediate.Informs(action) {
		return fmt.Sprintf("%s for %s's owners: people were told; nothing in the shop changed", action, target), nil
	}
	g.mu.Lock()
	f := g.fault
	if f == nil {
		f = &fault{}
	}
	took := &fault{slow: map[string]float64{}, errs: map[string]float64{}, cpu: map[string]float64{}}
	for _, m := range []struct{ from, to map[string]float64 }{{f.slow, took.slow}, {f.errs, took.errs}, {f.cpu, took.cpu}} {
		if v, ok := m.from[target]; ok {
			m.to[target] = v
			delete(m.from, target)
		}
	}
	if target == "frontend" && f.rate > 1 {
		took.rate, f.rate = f.rate, 1
	}
	rollback := action == remediate.ActionRollback && target == "payment"
	if rollback && f.badCharg {
		took.badCharg, f.badCharg = true, false
	}
	relieved := len(took.slow)+len(took.errs)+len(took.cpu) > 0 || took.rate > 0 || took.badCharg
	if relieved {
		if g.reliefs == nil {
			g.reliefs = map[string]*fault{}
		}
		g.reliefs[by] = took
	}
	g.mu.Unlock()
	if rollback {
		version := params["version"]
		if version == "" {
			version = GoodVersion
		}
		g.redeploy(ctx, "payment", version, rand.IntN(3)) // not g.rng: this is a handler's goroutine
		g.sendChange(ctx, map[string]any{"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "kind": "event", "service": "payment",
			"name": "deploy", "change.type": "rollback", "version": version, "previous_version": BadVersion, "author": "inquest",
			"description": "rollback by " + by})
		if !relieved {
			return fmt.Sprintf("payment rolled back to %s; no fault was on there, so nothing got better", version), nil
		}
		return fmt.Sprintf("payment rolled back to %s", version), nil
	}
	if !relieved {
		return fmt.Sprintf("%s of %s done; no fault is on there, so nothing got better", action, target), nil
	}
	return fmt.Sprintf("%s of %s done: the fault stopped there", action, target), nil
}

// undo puts back what proposal by's remediation took away from the fault.
func (g *Generator) undo(ctx context.Context, action, target, by string) string {
	g.mu.Lock()
	took := g.reliefs[by]
	delete(g.reliefs, by)
	if took == nil {
		g.mu.Unlock()
		return fmt.Sprintf("nothing to undo: %s of %s took nothing away", action, target)
	}
	if g.fault == nil {
		g.fault = &fault{slow: map[string]float64{}, errs: map[string]float64{}, cpu: map[string]float64{}, rate: 1}
	}
	f := g.fault
	for _, m := range []*map[string]float64{&f.slow, &f.errs, &f.cpu} {
		if *m == nil {
			*m = map[string]float64{}
		}
	}
	maps.Copy(f.slow, took.slow)
	maps.Copy(f.errs, took.errs)
	maps.Copy(f.cpu, took.cpu)
	if took.rate > 0 {
		f.rate = took.rate
	}
	f.badCharg = f.badCharg || took.badCharg
	g.mu.Unlock()
	if took.badCharg {
		g.redeploy(ctx, "payment", BadVersion, rand.IntN(3)) // not g.rng: this is a handler's goroutine
	}
	return fmt.Sprintf("undid %s of %s: that part of the fault is back", action, target)
}

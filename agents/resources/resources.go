// Package resources reads the metrics that say how a service's resources
// fared — CPU, memory, network, disk — and, where traces are missing, its
// latency and errors as metrics report them: for each service and kind,
// how far the window's peak lies above the baseline. It knows metrics only
// by the words in their names (OpenTelemetry's container.cpu.utilization,
// Prometheus' process_resident_memory_bytes, ...) and services by their
// job or service label, so it works on any system.
package resources

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/inquest/inquest/agents/signals"
	"github.com/inquest/inquest/domain"
)

// Kinds of metric.
const (
	CPU     = "cpu"
	Memory  = "memory"
	Network = "network"
	Disk    = "disk"
	Latency = "latency"
	Errors  = "errors"
)

// Saturation tells whether a kind is a resource that runs out. Network
// bytes are not: they follow traffic, and rise and fall with it.
func Saturation(kind string) bool {
	return kind == CPU || kind == Memory || kind == Disk
}

// Kind classifies a metric by its name; "" when it is none of the kinds.
// Host-wide figures (node, system, machine) are left out: they do not say
// which service.
func Kind(name string) string {
	n := strings.ToLower(name)
	for _, host := range []string{"node", "system.", "system_", "machine", "host"} {
		if strings.Contains(n, host) {
			return ""
		}
	}
	switch {
	case strings.Contains(n, "cpu"):
		return CPU
	case strings.Contains(n, "mem") || strings.Contains(n, "heap") || strings.Contains(n, "rss"):
		return Memory
	case strings.Contains(n, "network") || strings.Contains(n, "net.") || strings.Contains(n, "net_"):
		return Network
	case strings.Contains(n, "disk") || strings.Contains(n, "filesystem"):
		return Disk
	case strings.Contains(n, "latency") || strings.Contains(n, "duration"):
		return Latency
	case strings.Contains(n, "error") || strings.Contains(n, "fail") || strings.Contains(n, "success"):
		return Errors
	}
	return ""
}

// busyFrom is the share of its CPU limit from which a pod's CPU rise counts
// fully: CPU runs out at the limit, and a pod at 4% of it that rose
// fivefold is not starved of it, whatever the z-score (CPU faults take a
// pod to 85-100%). Below it the rise still says that something in the
// pod changed (exceptions thrown, a new code path), so it keeps half its
// strength at the least.
const busyFrom = 0.5

// utilization tells a metric that is a share of a limit (OpenTelemetry's
// *.utilization, 0 to 1, or a percentage).
func utilization(name string) bool { return strings.Contains(strings.ToLower(name), "utilization") }

// headroom is how much a CPU finding counts at its service's utilization
// level (a percentage is read as such): half at an idle pod, all from
// busyFrom up.
func headroom(level float64) float64 {
	if level > 1.5 {
		level /= 100
	}
	return 0.5 + 0.5*math.Min(1, math.Max(0, level)/busyFrom)
}

// falls tells whether the metric is bad when it falls (a success ratio).
func falls(name string) bool { return strings.Contains(strings.ToLower(name), "success") }

// Source is what the reader reads.
type Source interface {
	MetricNames(ctx context.Context, tenant string, r domain.TimeRange) ([]string, error)
	MetricSeries(ctx context.Context, q domain.MetricQuery) ([]domain.MetricSeries, error)
}

// Input is the window to explain and the one it is compared with.
type Input struct {
	Tenant           string
	Window, Baseline domain.TimeRange
}

// Finding is one metric of one service that moved.
type Finding struct {
	Service, Metric, Kind string
	// Series names the series (its labels) whose move was largest.
	Series string
	// Before is the baseline's median, Now the window's extreme.
	Before, Now float64
	// Fresh says the series began in the window (a new instance, after a
	// deploy or a restart): its baseline is the service's other
	// instances', and its first minutes of start-up are left out.
	Fresh bool
	// Canary says the finding compares a service's new instances with its
	// old ones over the same minutes (Before is the old ones' median);
	// Version is the new instances' service.version when they say it.
	Canary      bool
	Version     string
	Z, Strength float64
	Query       domain.MetricQuery
}

// Result lists the findings, strongest first.
type Result struct {
	Findings []Finding
	// Services that have metrics of any kind here.
	Services map[string]bool
	// Kinds seen at all (cpu, memory, ...).
	Kinds map[string]bool
}

// Best is the service's strongest finding among kinds (any when none
// given), or nil.
func (r *Result) Best(service string, kinds ...string) *Finding {
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Service != service {
			continue
		}
		if len(kinds) == 0 {
			return f
		}
		for _, k := range kinds {
			if f.Kind == k {
				return f
			}
		}
	}
	return nil
}

// maxNames bounds the metrics read per investigation.
const maxNames = 60

// Read scores every metric of a kind, per service.
func Read(ctx context.Context, src Source, in Input) (*Result, error) {
	full := domain.TimeRange{Start: in.Baseline.Start, End: in.Window.End}
	names, err := src.MetricNames(ctx, in.Tenant, full)
	if err != nil {
		return nil, fmt.Errorf("metric names: %w", err)
	}
	res := &Result{Services: map[string]bool{}, Kinds: map[string]bool{}}
	step := stepFor(in.Window)
	read := 0
	best := map[[2]string]Finding{}
	busy := map[string]float64{} // per service, the highest CPU utilization in the window
	for _, name := range names {
		kind := Kind(name)
		if kind == "" {
			continue
		}
		if read++; read > maxNames {
			break
		}
		q := domain.MetricQuery{Tenant: in.Tenant, Name: name, Range: full, Step: step, Func: domain.FuncAvg, Limit: domain.DefaultSeriesLimit}
		series, err := src.MetricSeries(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		if len(series) > 0 && series[0].Type == domain.MetricCounter {
			q.Func = domain.FuncRate
			if series, err = src.MetricSeries(ctx, q); err != nil {
				return nil, fmt.Errorf("metric %s: %w", name, err)
			}
		}
		res.Kinds[kind] = true
		floor := peerSpread(series, in)
		shared := sharedSeries(series)
		instances := byService(series, in)
		consider := func(f Finding, svc, label string) {
			f.Service, f.Metric, f.Kind = svc, name, kind
			f.Query = q
			f.Query.Matchers = []domain.LabelMatcher{{Name: label, Op: domain.MatchEq, Value: svc}}
			key := [2]string{svc, kind}
			if old, ok := best[key]; !ok || better(f, old) {
				best[key] = f
			}
		}
		for i, s := range series {
			svc := ServiceOf(s.Labels)
			if svc == "" {
				continue
			}
			res.Services[svc] = true
			if kind == CPU && utilization(name) {
				for _, v := range window(s, in, false) {
					busy[svc] = max(busy[svc], v)
				}
			}
			if shared[i] {
				continue
			}
			f, ok := score(s, in, falls(name), floor, instances[svc])
			if !ok {
				continue
			}
			consider(f, svc, serviceLabel(s.Labels))
		}
		for svc, inst := range instances {
			if f, ok := canary(inst, in, falls(name), floor); ok {
				consider(f, svc, serviceLabel(inst.fresh[0].Labels))
			}
		}
	}
	for _, f := range best {
		if level, ok := busy[f.Service]; ok && f.Kind == CPU {
			f.Strength *= headroom(level)
		}
		res.Findings = append(res.Findings, f)
	}
	sort.Slice(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.Strength != b.Strength {
			return a.Strength > b.Strength
		}
		if a.Z != b.Z {
			return a.Z > b.Z
		}
		return a.Service+a.Kind < b.Service+b.Kind
	})
	return res, nil
}

// sharedSeries marks the series whose every value another service's
// series of the same metric has too: a figure identical across pods is
// their node's (or their cluster's), copied onto each, and says nothing
// of any one of them.
func sharedSeries(series []domain.MetricSeries) map[int]bool {
	byValues := map[string][]int{}
	for i, s := range series {
		if len(s.Points) < 3 {
			continue
		}
		var b strings.Builder
		for _, p := range s.Points {
			fmt.Fprintf(&b, "%d:%.6g,", p.TimeUnixNano, p.Value)
		}
		byValues[b.String()] = append(byValues[b.String()], i)
	}
	out := map[int]bool{}
	for _, idx := range byValues {
		services := map[string]bool{}
		for _, i := range idx {
			services[ServiceOf(series[i].Labels)] = true
		}
		if len(services) < 2 {
			continue
		}
		for _, i := range idx {
			out[i] = true
		}
	}
	return out
}

// baseline is a series' values in the baseline.
func baseline(s domain.MetricSeries, in Input) []float64 {
	var before []float64
	for _, p := range s.Points {
		if p.TimeUnixNano >= in.Baseline.Start && p.TimeUnixNano < in.Baseline.End {
			before = append(before, p.Value)
		}
	}
	return before
}

// peerSpread is how much a metric wiggles in this system: the median, over
// its series, of each one's robust spread in the baseline. A series that
// sat still (an idle pod's CPU, 0.0014 cores every minute) has almost no
// spread of its own, and any blip would be hundreds of σ; against the
// wiggle its peers show in the same unit, it is the blip it is. It
// compares a metric only with itself, so it assumes no unit.
func peerSpread(series []domain.MetricSeries, in Input) float64 {
	var spreads []float64
	for _, s := range series {
		before := baseline(s, in)
		if len(before) < 3 {
			continue
		}
		m := signals.Median(before)
		dev := make([]float64, len(before))
		for i, v := range before {
			dev[i] = math.Abs(v - m)
		}
		spreads = append(spreads, 1.4826*signals.Median(dev))
	}
	return signals.Median(spreads)
}

// better says whether f is the finding to keep over old for one service
// and kind: the stronger; at about equal strength (within 0.05) a
// comparison of new instances with old ones (it names the version and sees
// the same traffic), then the larger z.
func better(f, old Finding) bool {
	if math.Abs(f.Strength-old.Strength) > 0.05 {
		return f.Strength > old.Strength
	}
	if f.Canary != old.Canary {
		return f.Canary
	}
	return f.Z > old.Z
}

// Warmup is how long a new instance's figures are not read: a process
// starting up (a JVM warming, caches filling) runs hot for its first
// minutes, and that is no saturation.
const Warmup = 2 * time.Minute

// instances are a service's series of one metric: the established ones
// (a baseline of their own) and the fresh ones (begun in the window).
type instances struct {
	established, fresh []domain.MetricSeries
}

// byService sorts each service's series into established and fresh.
func byService(series []domain.MetricSeries, in Input) map[string]*instances {
	out := map[string]*instances{}
	for _, s := range series {
		svc := ServiceOf(s.Labels)
		if svc == "" {
			continue
		}
		inst := out[svc]
		if inst == nil {
			inst = &instances{}
			out[svc] = inst
		}
		if len(baseline(s, in)) >= 3 {
			inst.established = append(inst.established, s)
		} else {
			inst.fresh = append(inst.fresh, s)
		}
	}
	return out
}

// window is a series' values in the window; a fresh series' first Warmup
// is left out.
func window(s domain.MetricSeries, in Input, fresh bool) []float64 {
	var first int64
	if fresh && len(s.Points) > 0 {
		first = s.Points[0].TimeUnixNano
	}
	var now []float64
	for _, p := range s.Points {
		if p.TimeUnixNano >= in.Window.Start && p.TimeUnixNano < in.Window.End && (!fresh || p.TimeUnixNano >= first+int64(Warmup)) {
			now = append(now, p.Value)
		}
	}
	return now
}

// score compares the window's extreme with the baseline's spread, which is
// at least floor. A series without a baseline of its own (a new instance)
// is compared with the baseline of its service's established instances.
func score(s domain.MetricSeries, in Input, falls bool, floor float64, inst *instances) (Finding, bool) {
	before := baseline(s, in)
	fresh := len(before) < 3
	if fresh {
		before = nil
		if inst != nil {
			for _, e := range inst.established {
				before = append(before, baseline(e, in)...)
			}
		}
	}
	f, ok := judge(before, window(s, in, fresh), falls, floor)
	f.Series, f.Fresh = labelText(s.Labels), fresh
	return f, ok
}

// canary compares a service's fresh instances with its established ones
// over the same minutes of the window: both see the same traffic, so a new
// version that runs worse than the old one shows here even when the
// service as a whole moved little. Needs both kinds of instance.
func canary(inst *instances, in Input, falls bool, floor float64) (Finding, bool) {
	if len(inst.fresh) == 0 || len(inst.established) == 0 {
		return Finding{}, false
	}
	var olds, news []float64
	for _, s := range inst.established {
		olds = append(olds, window(s, in, false)...)
	}
	version := ""
	for _, s := range inst.fresh {
		news = append(news, window(s, in, true)...)
		if v, ok := s.Labels.Get("service.version"); ok && version == "" {
			version = v
		}
	}
	if len(olds) < 3 || len(news) == 0 {
		return Finding{}, false
	}
	// The new instances' typical figure, not their extreme: a canary is
	// judged on how it runs, not on its worst minute.
	f, ok := judge(olds, []float64{signals.Median(news)}, falls, floor)
	f.Canary, f.Version = true, version
	f.Series = "new instances against old ones"
	return f, ok
}

// judge scores the window's extreme of now against before: a robust z
// whose spread is at least floor.
func judge(before, now []float64, falls bool, floor float64) (Finding, bool) {
	if len(before) < 3 || len(now) == 0 {
		return Finding{}, false
	}
	sign := 1.0
	if falls {
		sign = -1
	}
	peak := now[0]
	for _, v := range now {
		if v*sign > peak*sign {
			peak = v
		}
	}
	flipped := make([]float64, len(before))
	for i, v := range before {
		flipped[i] = v * sign
	}
	z := signals.RobustZ(peak*sign, flipped, 0.02, 1e-9)
	if m := signals.Median(flipped); floor > 0 && (peak*sign-m)/floor < z {
		z = (peak*sign - m) / floor
	}
	return Finding{Before: signals.Median(before), Now: peak, Z: z, Strength: signals.Z(z)}, true
}

// ServiceOf is the service a series belongs to, from its labels.
func ServiceOf(l domain.Attrs) string {
	if k := serviceLabel(l); k != "" {
		v, _ := l.Get(k)
		return v
	}
	return ""
}

func serviceLabel(l domain.Attrs) string {
	for _, k := range []string{"job", "service", "service.name", "service_name"} {
		if v, ok := l.Get(k); ok && v != "" {
			return k
		}
	}
	return ""
}

// stepFor makes about six steps of the window, between 10 s and a minute.
func stepFor(w domain.TimeRange) time.Duration {
	step := time.Duration(w.End-w.Start) / 6
	return min(max(step, 10*time.Second), time.Minute).Truncate(time.Second)
}

// labelText writes labels as {k="v", ...}.
func labelText(l domain.Attrs) string {
	parts := make([]string, len(l.Keys))
	for i, k := range l.Keys {
		parts[i] = k + "=" + strconv.Quote(l.Values[i])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

package rca

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Weights are the constants of the scoring model, all in one place, each
// with the reason it has its value. They are the same on every system: a
// method whose constants must change with the system it looks at has
// learnt that system, not faults. `inquest eval-rca` chooses them on one
// set of systems and scores them on another (leave one system out) to
// show they transfer; a file of them can be given to `--weights`.
//
// The readers of evidence below the scoring model have constants of their
// own, documented where they are used and not chosen per system: the log
// reader's (agents/changes: share floor, Poisson test bounds, INFO weight,
// the fair baseline sample), the metric reader's (agents/resources: the
// spread floor of a robust z) and the strength curves (agents/signals).
type Weights struct {
	// Kind weighs each kind of evidence in the noisy-or that combines a
	// service's signs (its strongest of each kind). All 1 by default:
	// no kind is trusted more before data says so, and the readers
	// already put their findings on one scale (how sure a change is).
	Kind KindWeights `json:"kind"`

	// MinScore is the least score a hypothesis needs to be told (0.15):
	// below it the evidence is the noise that any window has.
	MinScore float64 `json:"min_score"`

	// ChangeBase and ChangeGain: a change shortly before the onset counts
	// ChangeBase on a service with no symptom of its own, up to
	// ChangeBase+ChangeGain with strong symptoms (0.3 and 0.7): most
	// outages follow a change, but a deploy of a healthy service did not
	// cause someone else's failure.
	ChangeBase float64 `json:"change_base"`
	ChangeGain float64 `json:"change_gain"`

	// PeersFactor discounts a service whose strongest sign came from
	// comparing it with other services rather than with its own past
	// (0.8): peers differ for reasons of their own.
	PeersFactor float64 `json:"peers_factor"`

	// MetricOnly is what a latency or error metric counts for where a
	// service has no spans (0.6): a pod's latency includes its callees'.
	MetricOnly float64 `json:"metric_only"`

	// ExplainFrom and ExplainWeight: a caller's latency, errors and error
	// logs are taken down by ExplainWeight × the fault of the worst callee
	// it has when that fault is at least ExplainFrom (0.3, 0.6): a
	// symptom is never the cause.
	ExplainFrom   float64 `json:"explain_from"`
	ExplainWeight float64 `json:"explain_weight"`

	// LoadFrom and LoadWeight: a service's resources and latency are taken
	// down by LoadWeight × how strongly its own requests rose, from
	// LoadFrom (0.3, 0.6): a service that got four times the requests is
	// busy because of them.
	LoadFrom   float64 `json:"load_from"`
	LoadWeight float64 `json:"load_weight"`

	// MinErrorLines: fewer error lines in the window say nothing (3).
	MinErrorLines float64 `json:"min_error_lines"`
	// LogLevelWeight and LogLevelScale: a service whose lines are largely
	// errors is a suspect even without a baseline to compare with (a fault
	// already under way), but less than one whose errors are new (0.35,
	// 0.1: a quarter of its lines errors counts 0.32, one in twenty 0.14).
	LogLevelWeight float64 `json:"log_level_weight"`
	LogLevelScale  float64 `json:"log_level_scale"`
	// LogExplained is how much of a service's log evidence goes when every
	// trace of its error lines has an error logged by a service it calls
	// too (0.8): the error began below and was logged again on the way up.
	LogExplained float64 `json:"log_explained"`

	// CommonNear and CommonPower: a sign that other services show about as
	// strongly (within CommonNear, 0.5) fades as 1/(1+others)^CommonPower
	// (0.5: two alike keep 0.71 each, five 0.45, ten 0.30). Many pods'
	// CPU up at once is load or a shared node; the fault's own sign is
	// rare.
	CommonNear  float64 `json:"common_near"`
	CommonPower float64 `json:"common_power"`
}

// KindWeights weigh each kind of evidence, from 0 to 1.
type KindWeights struct {
	Latency  float64 `json:"latency"`
	Network  float64 `json:"network"`
	Errors   float64 `json:"errors"`
	Traffic  float64 `json:"traffic"`
	Resource float64 `json:"resource"`
	Log      float64 `json:"log"`
}

// of is the weight of a kind of evidence (1 for kinds it does not name).
func (k KindWeights) of(kind string) float64 {
	switch kind {
	case KindLatency:
		return k.Latency
	case KindGap:
		return k.Network
	case KindErrors:
		return k.Errors
	case KindTraffic:
		return k.Traffic
	case KindResource:
		return k.Resource
	case KindLog:
		return k.Log
	}
	return 1
}

// DefaultWeights are the weights Inquest ships with.
func DefaultWeights() Weights {
	return Weights{
		Kind:     KindWeights{Latency: 1, Network: 1, Errors: 1, Traffic: 1, Resource: 1, Log: 1},
		MinScore: 0.15, ChangeBase: 0.3, ChangeGain: 0.7, PeersFactor: 0.8, MetricOnly: 0.6,
		ExplainFrom: 0.3, ExplainWeight: 0.6, LoadFrom: 0.3, LoadWeight: 0.6,
		MinErrorLines: 3, LogLevelWeight: 0.35, LogLevelScale: 0.1, LogExplained: 0.8,
		CommonNear: 0.5, CommonPower: 0.5,
	}
}

// LoadWeights reads weights from a JSON file; what it leaves out keeps its
// default.
func LoadWeights(path string) (Weights, error) {
	w := DefaultWeights()
	b, err := os.ReadFile(path)
	if err != nil {
		return w, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return DefaultWeights(), fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Validate(); err != nil {
		return DefaultWeights(), fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// Validate refuses weights no ranking can use.
func (w Weights) Validate() error {
	for _, k := range w.Knobs() {
		if *k.Value < 0 {
			return fmt.Errorf("%s %g: want 0 or more", k.Name, *k.Value)
		}
		if *k.Value > 1 && k.Name != "min_error_lines" {
			return fmt.Errorf("%s %g: want at most 1", k.Name, *k.Value)
		}
	}
	return nil
}

// Knob is one weight an evaluation may choose, with the values it tries.
type Knob struct {
	Name  string
	Value *float64
	Grid  []float64
}

// Knobs are the weights a search may move, each with a small grid around
// its default. The grids are coarse on purpose: a choice that needs a fine
// grid to win is a choice fitted to the data it was made on.
func (w *Weights) Knobs() []Knob {
	ks := []Knob{
		{"min_score", &w.MinScore, nil},
		{"change_base", &w.ChangeBase, nil},
		{"change_gain", &w.ChangeGain, nil},
		{"peers_factor", &w.PeersFactor, []float64{0.6, 0.8, 1}},
		{"metric_only", &w.MetricOnly, []float64{0.3, 0.6, 0.9}},
		{"explain_from", &w.ExplainFrom, nil},
		{"explain_weight", &w.ExplainWeight, []float64{0.3, 0.6, 0.9}},
		{"load_from", &w.LoadFrom, nil},
		{"load_weight", &w.LoadWeight, []float64{0.3, 0.6, 0.9}},
		{"min_error_lines", &w.MinErrorLines, nil},
		{"log_level_weight", &w.LogLevelWeight, []float64{0.15, 0.35, 0.55}},
		{"log_level_scale", &w.LogLevelScale, nil},
		{"log_explained", &w.LogExplained, []float64{0.4, 0.8, 1}},
		{"common_near", &w.CommonNear, nil},
		{"common_power", &w.CommonPower, []float64{0, 0.25, 0.5, 0.75, 1}},
	}
	for _, k := range []struct {
		name string
		v    *float64
	}{{"latency", &w.Kind.Latency}, {"network", &w.Kind.Network}, {"errors", &w.Kind.Errors},
		{"traffic", &w.Kind.Traffic}, {"resource", &w.Kind.Resource}, {"log", &w.Kind.Log}} {
		ks = append(ks, Knob{Name: "kind." + k.name, Value: k.v, Grid: []float64{0.5, 0.75, 1}})
	}
	return ks
}

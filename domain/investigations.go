package domain

import "encoding/json"

// Investigation statuses.
const (
	InvestigationRunning     = "running"
	InvestigationDone        = "done"
	InvestigationFailed      = "failed"
	InvestigationInterrupted = "interrupted"
)

// Causes a hypothesis may name: the kinds of root cause an SRE tells apart
// (a degraded symptom is never one of them).
const (
	CauseBadDeploy          = "bad_deploy"
	CauseDependencyFailure  = "dependency_failure"
	CauseResourceSaturation = "resource_saturation"
	CauseTrafficSurge       = "traffic_surge"
	CauseConfigChange       = "config_change"
	CauseCodeError          = "code_error"
	CauseUnknown            = "unknown"
)

// Causes lists them, for checking what people write (runbooks).
var Causes = []string{CauseBadDeploy, CauseDependencyFailure, CauseResourceSaturation, CauseTrafficSurge,
	CauseConfigChange, CauseCodeError, CauseUnknown}

// Investigation is what Inquest found out about a window of a tenant's
// telemetry: the question (scope, window, baseline), the steps taken and
// the ranked hypotheses. It is kept whole, as one record, so that a face
// shows exactly what the agents wrote.
type Investigation struct {
	Tenant     string
	ID         string
	IncidentID string
	// Trigger says who asked: "incident" (started by itself) or the
	// principal's subject.
	Trigger string
	Status  string
	Scope   InvestigationScope
	// Services is what the incident held when this run started: a run is
	// made again when the incident gains services.
	Services     []string
	StartedNano  int64
	FinishedNano int64
	Steps        []InvestigationStep
	Hypotheses   []Hypothesis
	// Missing names the evidence that was not there to look at (no traces
	// in the baseline, no resource metrics, no change events).
	Missing []string
	Summary string
	// Narrative is what a language model wrote from the evidence (checked
	// to cite only evidence that exists), and NarrativeModel which one.
	Narrative      string
	NarrativeModel string
	Error          string
	Similar        []SimilarInvestigation
	// Progress is every line streamed while it ran, so that a subscriber
	// who comes late is told the story from the start.
	Progress []InvestigationProgress
}

// InvestigationScope is the question: the window to explain, the window
// it is compared with, and what it is narrowed to.
type InvestigationScope struct {
	Range    TimeRange
	Baseline TimeRange
	Service  string
	Filters  []Filter
}

// InvestigationStep is one agent's part of an investigation.
type InvestigationStep struct {
	Name         string
	Status       string // running, done, failed, skipped
	StartedNano  int64
	FinishedNano int64
	Findings     []string
	Error        string
}

// Hypothesis is one candidate root cause, ranked by Confidence.
type Hypothesis struct {
	Service    string
	Cause      string
	Confidence float64
	Summary    string
	Evidence   []Evidence
	// Path runs from the symptom (the root-most affected service) to the
	// candidate through the service graph.
	Path []string
	// Affected are the services upstream of the candidate that were
	// anomalous too, and TrafficShare the share of the window's traces
	// that pass through it (0 without traces): its blast radius.
	Affected     []string
	TrafficShare float64
	// Change is the change the hypothesis blames, when its cause is one
	// (a bad deploy, a config change): what a rollback undoes.
	Change *ChangeRef `json:",omitempty"`
}

// ChangeRef names a change event: its kind, when, and what it changed.
type ChangeRef struct {
	Type, Version, PreviousVersion, Key string
	AtNano                              int64
}

// Evidence is one fact behind a hypothesis, with the query that shows it.
type Evidence struct {
	Kind string // bubbleup, latency, gap, errors, resource, change, traffic, anomaly, log
	Text string
	// Strength is how much this fact alone points at the candidate (0-1).
	Strength float64
	Query    *EvidenceQuery
}

// EvidenceQuery names a GraphQL query field and its variables (JSON), so
// that a face opens what the evidence says in one click.
type EvidenceQuery struct {
	Field     string // aggregate, bubbleUp, metricSeries, events, trace
	Variables json.RawMessage
}

// SimilarInvestigation is a finished investigation that looks like this
// one, and how its incident ended.
type SimilarInvestigation struct {
	ID         string
	IncidentID string
	Score      float64
	Summary    string
	Resolution string
}

// InvestigationProgress is one live line of a running investigation.
type InvestigationProgress struct {
	Tenant          string
	InvestigationID string
	Seq             int    // 1, 2, ... within the investigation
	Kind            string // step_started, finding, thought, step_finished, done
	Step            string
	Text            string
	TimeUnixNano    int64
	Status          string // the investigation's status after this line
}

package domain

// Anomaly is a stretch of time during which one series was outside its
// band, with the detector's reasons.
type Anomaly struct {
	Tenant    string
	ID        string
	Series    string // a readable key: "red:payment:p99_ms", "metric:cpu{host=a}"
	Service   string // empty for a metric without a job/service label
	Operation string // for per-operation RED series
	Signal    string // rate, error_ratio, p99_ms, value, rate (counters)
	// StartNano is the start of the first anomalous step; EndNano the end
	// of the last one, 0 while the anomaly goes on.
	StartNano, EndNano int64
	Severity           string // low, medium, high, critical
	Score              float64
	Expected, Observed float64
	Lower, Upper       float64
	Detector           string
	Explanation        string
	IncidentID         string
}

// IncidentWorthy tells whether the anomaly opened or joined an incident;
// one that drives nothing (a rare series appearing, a low anomaly alone) is
// kept but left out of listings by default.
func (a *Anomaly) IncidentWorthy() bool { return a.IncidentID != "" }

// SeverityRank orders severities: low 1, medium 2, high 3, critical 4,
// anything else 0.
func SeverityRank(severity string) int {
	switch severity {
	case "critical":
		return 4
	case "high":
		return 3
	case "medium":
		return 2
	case "low":
		return 1
	}
	return 0
}

// Incident statuses.
const (
	IncidentOpen         = "open"
	IncidentAcknowledged = "acknowledged"
	IncidentResolved     = "resolved"
)

// Incident groups anomalies that belong together: close in time and in
// the service graph, or following one deploy.
type Incident struct {
	Tenant   string
	ID       string
	Title    string
	Severity string
	Status   string
	// Services, the root-most first: the service whose own dependencies
	// are not anomalous, then those that call it.
	Services       []string
	AnomalyIDs     []string
	OpenedNano     int64
	UpdatedNano    int64
	ResolvedNano   int64
	AcknowledgedBy string
	Timeline       []IncidentEvent
	// Version counts the changes made through UpdateIncident: a change is
	// made against the version it read, so that two processes changing
	// one incident at once cannot both win.
	Version int64
}

// Clone copies an incident deeply, so that the copy can change alone.
func (in *Incident) Clone() Incident {
	c := *in
	c.Services = append([]string(nil), in.Services...)
	c.AnomalyIDs = append([]string(nil), in.AnomalyIDs...)
	c.Timeline = append([]IncidentEvent(nil), in.Timeline...)
	return c
}

// IncidentEvent is one line of an incident's timeline.
type IncidentEvent struct {
	TimeUnixNano int64
	Kind         string // opened, anomaly, anomaly_ended, deploy, acknowledged, resolved, reopened, merged
	Text         string
	Actor        string
}

// Rule kinds.
const (
	RuleThreshold = "threshold"
	RuleSLO       = "slo"
)

// Rule is an alert a user defines on a service's RED series: a static
// threshold on one signal, or an SLO watched by its error-budget burn rate.
type Rule struct {
	Tenant    string
	ID        string
	Name      string
	Kind      string // threshold or slo
	Service   string
	Operation string // empty: the whole service
	// Threshold rules: Signal (rate, error_ratio, p99_ms) Op Value, held
	// for ForNano.
	Signal  string
	Op      string
	Value   float64
	ForNano int64
	// SLO rules: the share of requests that must succeed, such as 0.999.
	Objective   float64
	CreatedBy   string
	CreatedNano int64
}

package domain

// Risk tiers of a proposal, lowest first.
const (
	RiskInfo     = "info"
	RiskLow      = "low"
	RiskMedium   = "medium"
	RiskHigh     = "high"
	RiskCritical = "critical"
)

// Risks lists them, least first (for checking what people write, and for
// showing tiers in order).
var Risks = []string{RiskInfo, RiskLow, RiskMedium, RiskHigh, RiskCritical}

// Proposal statuses: proposed → pending → approved | rejected | expired →
// executing → succeeded | failed → rolled_back.
const (
	ProposalProposed   = "proposed"
	ProposalPending    = "pending"
	ProposalApproved   = "approved"
	ProposalRejected   = "rejected"
	ProposalExpired    = "expired"
	ProposalExecuting  = "executing"
	ProposalSucceeded  = "succeeded"
	ProposalFailed     = "failed"
	ProposalRolledBack = "rolled_back"
)

// Proposal is a remediation Inquest suggests for a hypothesis, and what
// people and executors did with it. It is kept whole; every change is a
// compare-and-set on Version.
type Proposal struct {
	Tenant          string
	ID              string
	IncidentID      string
	InvestigationID string
	// Action is the catalog's name (rollback, restart, scale_out, ...);
	// Target the service it acts on; Params its settings (version: 2.3.0).
	Action string
	Target string
	Params map[string]string
	// Rationale cites the evidence; Expected is the effect verification
	// watches for; Rollback says how the action is undone.
	Rationale string
	Expected  string
	Rollback  string
	Risk      string
	Status    string
	// ProposedBy is who asked for the investigation it came from ("inquest"
	// when an incident did): that person may not approve it.
	ProposedBy   string
	ProposedNano int64
	UpdatedNano  int64
	// ExpiresNano is when a pending proposal escalates (once) or expires.
	ExpiresNano int64
	Escalated   bool
	Approvals   []Decision
	Rejection   *Decision
	Execution   *Execution
	History     []ProposalEvent
	Version     int64
}

// Decision is one person's approval or rejection.
type Decision struct {
	Actor   string
	Levels  []string // the approver levels they held
	Channel string   // graphql, slack, mcp
	Comment string
	// Modifications are parameters the approver changed (replicas: 6).
	Modifications map[string]string
	AtNano        int64
}

// Execution is what an executor did.
type Execution struct {
	Executor     string
	DryRun       bool
	StartedNano  int64
	FinishedNano int64
	Output       string
	Error        string
	// Verified tells what verification saw afterwards.
	Verified string
	// Relieved: the target's anomalies in the incident ended after it ran,
	// so the incident's end is credited to it.
	Relieved bool `json:",omitempty"`
}

// ProposalEvent is one line of a proposal's history.
type ProposalEvent struct {
	AtNano  int64
	Kind    string // proposed, approved, rejected, escalated, expired, executing, succeeded, failed, rolled_back
	Actor   string
	Channel string
	Text    string
}

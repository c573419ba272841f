package remediate

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/inquest/inquest/domain"
)

// Actions of the catalog.
const (
	ActionRollback    = "rollback"
	ActionRevert      = "revert_config"
	ActionRestart     = "restart"
	ActionScaleOut    = "scale_out"
	ActionFailover    = "failover"
	ActionTicket      = "open_ticket"
	ActionPage        = "page_team"
	ActionRaiseLimits = "raise_limits"
)

// Informs reports whether an action only tells people (a page, a ticket):
// it changes nothing in the system, so there is nothing to verify on the
// incident's series, nothing to roll back, and no incident's end to credit
// to it.
func Informs(action string) bool { return action == ActionPage || action == ActionTicket }

// maxProposed bounds the hypotheses that get proposals: the leading two.
const maxProposed = 2

// minConfidence is the least confidence a hypothesis needs for an action
// that changes something; below it only a page is proposed.
const minConfidence = 0.5

// Propose makes the proposals of an investigation's leading hypotheses
// from the runbooks people wrote, when one matches, or else from the
// catalog: one that undoes the cause when the evidence names it
// (a rollback of the deploy, a revert of the configuration), one that
// relieves it otherwise (scale out, restart, fail over), and a page to the
// owners when confidence is low.
//
// The leading hypothesis is the root cause: the second gets a proposal
// only when it is confident too, is not a service the leading one affects
// (its symptom), and the proposal would change something; a page goes
// only to the leading hypothesis's owners. IDs come from the incident,
// action and target (from the investigation when there is no incident),
// so every investigation of an incident proposes each remedy once.
func Propose(inv *domain.Investigation, proposedBy string, at int64, pol Policy, rb *Runbooks) []domain.Proposal {
	var out []domain.Proposal
	for i, h := range inv.Hypotheses {
		if i == maxProposed {
			break
		}
		ps := forHypothesis(h)
		if r := rb.match(h); r != nil && h.Confidence >= minConfidence {
			ps = []domain.Proposal{r.proposal(h, fmt.Sprintf("Hypothesis: %s (confidence %.2f). %s", h.Cause, h.Confidence, firstEvidence(h)))}
		}
		if i > 0 && (h.Confidence < minConfidence || slices.Contains(inv.Hypotheses[0].Affected, h.Service) || h.Service == inv.Hypotheses[0].Service) {
			continue
		}
		for _, p := range ps {
			if i > 0 && Informs(p.Action) {
				continue
			}
			p.Tenant, p.IncidentID, p.InvestigationID = inv.Tenant, inv.IncidentID, inv.ID
			p.ID = fmt.Sprintf("prop-%s-%d-%s", strings.TrimPrefix(inv.ID, "inv-"), i+1, p.Action)
			if inv.IncidentID != "" {
				p.ID = fmt.Sprintf("prop-%s-%s-%s", strings.TrimPrefix(inv.IncidentID, "inc-"), p.Action, idPart(h.Service))
			}
			p.Target, p.ProposedBy, p.ProposedNano, p.UpdatedNano = h.Service, proposedBy, at, at
			p.Status = domain.ProposalPending
			if t := pol[p.Risk]; len(t.Seats) == 0 {
				p.Status = domain.ProposalApproved
			} else {
				p.ExpiresNano = at + int64(t.Timeout)
			}
			p.History = []domain.ProposalEvent{{AtNano: at, Kind: domain.ProposalProposed, Actor: proposedBy,
				Text: fmt.Sprintf("%s %s (%s risk) for hypothesis #%d: %s", p.Action, p.Target, p.Risk, i+1, h.Cause)}}
			out = append(out, p)
		}
	}
	return out
}

func forHypothesis(h domain.Hypothesis) []domain.Proposal {
	svc := h.Service
	band := fmt.Sprintf("%s's p99 latency and error ratio back inside their baseline bands within 10 minutes", svc)
	rationale := fmt.Sprintf("Hypothesis: %s (confidence %.2f). %s", h.Cause, h.Confidence, firstEvidence(h))
	if h.Confidence < minConfidence {
		return []domain.Proposal{{Action: ActionPage, Risk: domain.RiskInfo, Rationale: rationale,
			Expected: "the owners of " + svc + " look at it", Rollback: "nothing to undo"}}
	}
	switch h.Cause {
	case domain.CauseBadDeploy, domain.CauseCodeError:
		if c := h.Change; c != nil && c.PreviousVersion != "" {
			return []domain.Proposal{{Action: ActionRollback, Risk: domain.RiskMedium, Rationale: rationale, Expected: band,
				Params:   map[string]string{"version": c.PreviousVersion, "from_version": c.Version},
				Rollback: fmt.Sprintf("deploy %s %s again", svc, c.Version)}}
		}
		return []domain.Proposal{{Action: ActionTicket, Risk: domain.RiskInfo, Rationale: rationale,
			Expected: "a ticket for the owners of " + svc, Rollback: "close the ticket"}}
	case domain.CauseConfigChange:
		params := map[string]string{}
		if c := h.Change; c != nil && c.Key != "" {
			params["key"] = c.Key
		}
		return []domain.Proposal{{Action: ActionRevert, Risk: domain.RiskMedium, Rationale: rationale, Expected: band,
			Params: params, Rollback: "apply the change again"}}
	case domain.CauseResourceSaturation:
		return []domain.Proposal{{Action: ActionScaleOut, Risk: domain.RiskLow, Rationale: rationale, Expected: band,
			Params: map[string]string{"replicas": "+2"}, Rollback: "scale back to the replicas it had"}}
	case domain.CauseTrafficSurge:
		return []domain.Proposal{{Action: ActionScaleOut, Risk: domain.RiskLow, Rationale: rationale, Expected: band,
			Params: map[string]string{"replicas": "x2"}, Rollback: "scale back to the replicas it had"}}
	case domain.CauseDependencyFailure:
		if len(h.Affected) > 0 && isStore(svc) {
			return []domain.Proposal{{Action: ActionFailover, Risk: domain.RiskHigh, Rationale: rationale, Expected: band,
				Rollback: "fail back to the primary"}}
		}
		return []domain.Proposal{{Action: ActionRestart, Risk: domain.RiskMedium, Rationale: rationale, Expected: band,
			Rollback: "nothing to undo: a restart keeps the version"}}
	}
	return []domain.Proposal{{Action: ActionPage, Risk: domain.RiskInfo, Rationale: rationale,
		Expected: "the owners of " + svc + " look at it", Rollback: "nothing to undo"}}
}

// idPart keeps a service name fit for an ID (letters, digits, '.', '_'
// and '-'; anything else becomes '_').
func idPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '_' || r == '-' || r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, s)
}

// isStore guesses from its name whether a service is a datastore, where a
// failover (not a restart) is the remedy.
func isStore(svc string) bool {
	s := strings.ToLower(svc)
	for _, w := range []string{"postgres", "mysql", "maria", "mongo", "redis", "db", "cassandra", "elastic", "kafka", "sql"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func firstEvidence(h domain.Hypothesis) string {
	if len(h.Evidence) == 0 {
		return ""
	}
	return "Evidence: " + h.Evidence[0].Text + "."
}

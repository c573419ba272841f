// Package remediate turns hypotheses into remediation proposals, runs the
// approval flow over them (risk tiers, approver levels, the two-person
// rule, escalation and expiry, every transition a compare-and-set in the
// store) and has approved ones executed, verified and, when they did not
// help, rolled back. A language model never acts here: proposals come from
// a fixed catalog, and only people (or the info tier's policy) approve.
package remediate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
)

// Seat is one approval a tier needs: a person holding at least Level (an
// approver level), or, when Level is empty, any responder.
type Seat struct {
	Level string
}

// Tier is what a risk needs before it runs.
type Tier struct {
	// Seats are filled by distinct people, none of them the proposer; no
	// seats: approved by policy.
	Seats   []Seat
	Timeout time.Duration
	// EscalateTo is the tier whose approvers a pending proposal goes to
	// when its timeout passes (once; the second timeout expires it).
	EscalateTo string
}

// Policy maps risks to tiers.
type Policy map[string]Tier

// DefaultPolicy is the design's: info auto-approved; low any responder in
// 15 minutes; medium a team lead in 30; high an SRE and a manager (two
// people) in an hour; critical a VP in two.
func DefaultPolicy() Policy {
	return Policy{
		domain.RiskInfo:     {},
		domain.RiskLow:      {Seats: []Seat{{}}, Timeout: 15 * time.Minute, EscalateTo: domain.RiskMedium},
		domain.RiskMedium:   {Seats: []Seat{{Level: "team-lead"}}, Timeout: 30 * time.Minute, EscalateTo: domain.RiskHigh},
		domain.RiskHigh:     {Seats: []Seat{{Level: "sre"}, {Level: "manager"}}, Timeout: time.Hour, EscalateTo: domain.RiskCritical},
		domain.RiskCritical: {Seats: []Seat{{Level: "vp"}}, Timeout: 2 * time.Hour},
	}
}

// rank orders approver levels: a manager may sit where a team lead is
// asked for.
func rank(level string) int { return slices.Index(auth.ApproverLevels, level) }

// Actor is who decides: a verified person, with the roles and approver
// levels their credential holds, and the face it came through.
type Actor struct {
	Subject   string
	Responder bool // holds the responder role (or above)
	// Levels are the approver:LEVEL roles held; Roles all the roles, of
	// which the policy may count others as levels.
	Levels  []string
	Roles   []string
	Channel string // graphql, slack, mcp
}

func (a Actor) fits(s Seat) bool {
	if s.Level == "" {
		return a.Responder || len(a.Levels) > 0
	}
	for _, l := range a.Levels {
		if rank(l) >= rank(s.Level) {
			return true
		}
	}
	return false
}

// tierOf is the tier a proposal is judged by now: its risk's, or, once
// escalated, the next one's.
func (pol Policy) tierOf(p *domain.Proposal) Tier {
	t := pol[p.Risk]
	if p.Escalated && t.EscalateTo != "" {
		return pol[t.EscalateTo]
	}
	return t
}

// seated fills the tier's seats with the approvals given, each person in
// at most one seat; it returns the seats left empty.
func seated(t Tier, approvals []domain.Decision) []Seat {
	used := map[string]bool{}
	var empty []Seat
	// The most demanding seats first, so that a manager is not spent on
	// a responder's seat.
	seats := slices.Clone(t.Seats)
	slices.SortStableFunc(seats, func(a, b Seat) int { return rank(b.Level) - rank(a.Level) })
	for _, s := range seats {
		filled := false
		for _, d := range approvals {
			if used[d.Actor] {
				continue
			}
			if (Actor{Subject: d.Actor, Responder: true, Levels: d.Levels}).fits(s) {
				used[d.Actor], filled = true, true
				break
			}
		}
		if !filled {
			empty = append(empty, s)
		}
	}
	return empty
}

// canApprove says why a person may not approve a proposal now, or nil.
func (pol Policy) canApprove(p *domain.Proposal, a Actor) error {
	if a.Subject == p.ProposedBy {
		return fmt.Errorf("%w: nobody approves their own proposal", ErrForbidden)
	}
	for _, d := range p.Approvals {
		if d.Actor == a.Subject {
			return fmt.Errorf("%w: %s has approved it already; another person must", ErrForbidden, a.Subject)
		}
	}
	empty := seated(pol.tierOf(p), p.Approvals)
	for _, s := range empty {
		if a.fits(s) {
			return nil
		}
	}
	need := "a responder"
	if len(empty) > 0 && empty[0].Level != "" {
		need = "an approver at level " + empty[0].Level + " or above"
	}
	return fmt.Errorf("%w: a %s proposal needs %s; %s holds %v", ErrForbidden, p.Risk, need, a.Subject, a.Levels)
}

// Needs says in words who may approve a pending proposal now under the
// policy (its risk's tier, or the next one's once escalated).
func (pol Policy) Needs(p domain.Proposal) string {
	seats := seated(pol.tierOf(&p), p.Approvals)
	if len(pol.tierOf(&p).Seats) == 0 {
		return "nobody: approved by policy"
	}
	var who []string
	for _, s := range seats {
		if s.Level == "" {
			who = append(who, "a responder")
		} else {
			who = append(who, "an approver at level "+s.Level+" or above")
		}
	}
	if len(who) == 0 {
		return "nobody more: its approvers have approved"
	}
	return strings.Join(who, " and ") + " (not the proposer)"
}

package tools

import (
	"context"
	"strings"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// ListProposalsIn asks for remediation proposals.
type ListProposalsIn struct {
	Window
	IncidentID string `json:"incident_id,omitempty" jsonschema:"only this incident's proposals"`
	Status     string `json:"status,omitempty" jsonschema:"only those in this status: pending, approved, executing, succeeded, failed, rejected, expired, rolled_back"`
}

// ProposalBrief is a proposal in brief.
type ProposalBrief struct {
	ID        string            `json:"id"`
	Action    string            `json:"action"`
	Target    string            `json:"target"`
	Params    map[string]string `json:"params,omitempty"`
	Risk      string            `json:"risk"`
	Status    string            `json:"status"`
	Rationale string            `json:"rationale,omitempty"`
	Expected  string            `json:"expected,omitempty"`
	Rollback  string            `json:"rollback,omitempty"`
	// Needs says who may approve it now, while it is pending.
	Needs    string `json:"needs,omitempty"`
	Last     string `json:"last,omitempty"`
	Incident string `json:"incident_id,omitempty"`
	Link     string `json:"link,omitempty"`
}

// ListProposalsOut lists proposals, newest first.
type ListProposalsOut struct {
	Proposals []ProposalBrief `json:"proposals"`
	Bounds
}

// Trim drops the older half.
func (o *ListProposalsOut) Trim() bool {
	return o.halve("cut to fit; name an incident or a status", cut(&o.Proposals))
}

// approvers reads the tenant's approval policy, to say who may approve
// each pending proposal; nil when this process runs no approval flow.
func approvers(ctx context.Context, env Env) service.Policy {
	rules, err := env.Svc.ApprovalRules(ctx, env.P, "proposals")
	if err != nil {
		return nil
	}
	return rules.Policy
}

func proposalBrief(env Env, p *domain.Proposal, pol service.Policy) ProposalBrief {
	b := ProposalBrief{ID: p.ID, Action: p.Action, Target: p.Target, Params: service.ProposalParams(*p), Risk: p.Risk, Status: p.Status,
		Rationale: clip(p.Rationale, 300), Expected: p.Expected, Rollback: p.Rollback, Incident: p.IncidentID}
	if p.Status == domain.ProposalPending && pol != nil {
		b.Needs = pol.Needs(*p)
	}
	if n := len(p.History); n > 0 {
		b.Last = clip(p.History[n-1].Kind+": "+p.History[n-1].Text, 200)
	}
	if p.IncidentID != "" {
		b.Link = link(env, "incident="+p.IncidentID)
	}
	return b
}

func listProposals() Tool {
	return define(Tool{Name: "list_proposals", Op: "proposals", Budget: 2500,
		Description: "List remediation proposals (rollback, restart, scale out, revert config, fail over, ticket, page) that investigations made, newest first: target, parameters, " +
			"risk tier, status, the rationale citing the evidence, the effect verification will watch for and who may approve it. " +
			"A pending one is approved or rejected by a person (approve_proposal / reject_proposal when your role allows)."},
		func(ctx context.Context, env Env, in ListProposalsIn) (*ListProposalsOut, error) {
			w := in.Window
			if w.From == "" {
				w.From = "now-24h"
			}
			ps, err := env.Svc.Proposals(ctx, env.P, w.rng(), strings.TrimSpace(in.IncidentID), "")
			if err != nil {
				return nil, err
			}
			out := &ListProposalsOut{Proposals: []ProposalBrief{}}
			pol := approvers(ctx, env)
			for i := range ps {
				if in.Status != "" && ps[i].Status != strings.ToLower(in.Status) {
					continue
				}
				out.Proposals = append(out.Proposals, proposalBrief(env, &ps[i], pol))
			}
			if len(out.Proposals) > 20 {
				out.cutTo(20, len(out.Proposals), "name an incident or a status")
				out.Proposals = out.Proposals[:20]
			}
			return out, nil
		})
}

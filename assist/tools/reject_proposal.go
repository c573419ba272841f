package tools

import (
	"context"
)

// RejectProposalIn turns a pending proposal down.
type RejectProposalIn struct {
	ID     string `json:"id" jsonschema:"the proposal id, from list_proposals"`
	Reason string `json:"reason" jsonschema:"why it is rejected, for the audit log and the team"`
}

func rejectProposal() Tool {
	return define(Tool{Name: "reject_proposal", Op: "rejectProposal", Effect: Decides, Budget: 800,
		Description: "Reject a pending remediation proposal, with the reason, as the person this token belongs to; nothing is executed. " +
			"Only call this when the user has explicitly asked to reject this proposal."},
		func(ctx context.Context, env Env, in RejectProposalIn) (*DecisionOut, error) {
			p, err := env.Svc.RejectProposal(ctx, env.P, env.Channel, in.ID, in.Reason)
			if err != nil {
				return nil, err
			}
			return &DecisionOut{Proposal: proposalBrief(env, p, approvers(ctx, env))}, nil
		})
}

package tools

import (
	"context"
)

// ApproveProposalIn approves a pending proposal.
type ApproveProposalIn struct {
	ID            string            `json:"id" jsonschema:"the proposal id, from list_proposals"`
	Comment       string            `json:"comment,omitempty" jsonschema:"why, for the audit log"`
	Modifications map[string]string `json:"modifications,omitempty" jsonschema:"parameters to change, such as version or replicas"`
}

// DecisionOut is the proposal after the decision.
type DecisionOut struct {
	Proposal ProposalBrief `json:"proposal"`
	Output   string        `json:"execution_output,omitempty"`
}

func approveProposal() Tool {
	return define(Tool{Name: "approve_proposal", Op: "approveProposal", Effect: Decides, OpenWorld: true, Budget: 800,
		Description: "Approve a pending remediation proposal as the person this token belongs to. Once its risk tier's approvers have approved, Inquest executes it, " +
			"verifies the expected effect and rolls it back if the effect does not come. Nobody approves their own proposal; a medium risk needs a team lead, a high one two people. " +
			"Only call this when the user has explicitly asked to approve this proposal."},
		func(ctx context.Context, env Env, in ApproveProposalIn) (*DecisionOut, error) {
			p, err := env.Svc.ApproveProposal(ctx, env.P, env.Channel, in.ID, in.Comment, in.Modifications)
			if err != nil {
				return nil, err
			}
			out := &DecisionOut{Proposal: proposalBrief(env, p, approvers(ctx, env))}
			if p.Execution != nil {
				out.Output = clip(p.Execution.Output, 300)
			}
			return out, nil
		})
}

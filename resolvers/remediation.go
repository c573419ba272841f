package resolvers

import (
	"sort"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/graph/model"
)

func paramsIn(in []*model.ParamInput) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, p := range in {
		out[p.Key] = p.Value
	}
	return out
}

// params writes a map as attributes, sorted by key.
func params(m map[string]string) []*model.Attribute {
	out := make([]*model.Attribute, 0, len(m))
	for k, v := range m {
		out = append(out, &model.Attribute{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func decisionModel(d *domain.Decision) *model.Decision {
	if d == nil {
		return nil
	}
	m := &model.Decision{Actor: d.Actor, Levels: d.Levels, Channel: d.Channel, Comment: strPtr(d.Comment),
		Modifications: params(d.Modifications), Time: at(d.AtNano)}
	if m.Levels == nil {
		m.Levels = []string{}
	}
	return m
}

func proposalModel(p *domain.Proposal) *model.Proposal {
	m := &model.Proposal{ID: p.ID, IncidentID: strPtr(p.IncidentID), InvestigationID: strPtr(p.InvestigationID), Action: p.Action,
		Target: p.Target, Params: params(p.Params), Rationale: p.Rationale, Expected: p.Expected, Rollback: p.Rollback,
		Risk: model.Risk(p.Risk), Status: model.ProposalStatus(p.Status), ProposedBy: p.ProposedBy, ProposedAt: at(p.ProposedNano),
		ExpiresAt: atPtr(p.ExpiresNano), Escalated: p.Escalated, Rejection: decisionModel(p.Rejection),
		Approvals: []*model.Decision{}, History: []*model.ProposalEvent{}}
	for i := range p.Approvals {
		m.Approvals = append(m.Approvals, decisionModel(&p.Approvals[i]))
	}
	for _, e := range p.History {
		m.History = append(m.History, &model.ProposalEvent{Time: at(e.AtNano), Kind: e.Kind, Actor: strPtr(e.Actor),
			Channel: strPtr(e.Channel), Text: e.Text})
	}
	if x := p.Execution; x != nil {
		m.Execution = &model.Execution{Executor: x.Executor, DryRun: x.DryRun, StartedAt: at(x.StartedNano), FinishedAt: atPtr(x.FinishedNano),
			Output: strPtr(x.Output), Error: strPtr(x.Error), Verified: strPtr(x.Verified), Relieved: x.Relieved}
	}
	return m
}

package resolvers

import (
	"slices"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/service"
)

func policyIn(tiers []*model.ApprovalTierInput, levels []*model.RoleLevelInput) service.PolicySpec {
	spec := service.PolicySpec{Tiers: map[string]service.TierSpec{}, Levels: map[string]string{}}
	for _, t := range tiers {
		ts := service.TierSpec{Approvers: t.Approvers, Timeout: deref(t.Timeout)}
		if t.EscalateTo != nil {
			ts.EscalateTo = string(*t.EscalateTo)
		}
		spec.Tiers[string(t.Risk)] = ts
	}
	for _, l := range levels {
		spec.Levels[l.Role] = l.Level
	}
	return spec
}

func policyModel(r service.ApprovalRules) *model.ApprovalPolicy {
	m := &model.ApprovalPolicy{Source: r.Source, Tiers: []*model.ApprovalTier{}, Levels: []*model.RoleLevel{}}
	spec := r.Policy.Spec()
	for _, risk := range domain.Risks {
		ts, ok := spec[risk]
		if !ok {
			continue
		}
		t := &model.ApprovalTier{Risk: model.Risk(risk), Approvers: ts.Approvers, Timeout: strPtr(ts.Timeout)}
		if ts.EscalateTo != "" {
			e := model.Risk(ts.EscalateTo)
			t.EscalateTo = &e
		}
		m.Tiers = append(m.Tiers, t)
	}
	roles := make([]string, 0, len(r.Levels))
	for role := range r.Levels {
		roles = append(roles, role)
	}
	slices.Sort(roles)
	for _, role := range roles {
		m.Levels = append(m.Levels, &model.RoleLevel{Role: role, Level: r.Levels[role]})
	}
	return m
}

func runbookIn(in model.RunbookInput) service.Runbook {
	rb := service.Runbook{Name: in.Name, Action: in.Action, Risk: string(in.Risk), Params: paramsIn(in.Params),
		Expected: deref(in.Expected), Rollback: deref(in.Rollback)}
	rb.Match.Service, rb.Match.Cause, rb.Match.Tags = deref(in.Service), deref(in.Cause), in.Tags
	return rb
}

func runbookModel(rb *service.Runbook) *model.Runbook {
	m := &model.Runbook{Name: rb.Name, Service: strPtr(rb.Match.Service), Cause: strPtr(rb.Match.Cause), Tags: rb.Match.Tags,
		Action: rb.Action, Risk: model.Risk(rb.Risk), Params: params(rb.Params), Expected: strPtr(rb.Expected),
		Rollback: strPtr(rb.Rollback), Source: rb.Source}
	if m.Tags == nil {
		m.Tags = []string{}
	}
	if m.Source == "" {
		m.Source = "file"
	}
	return m
}

package service_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/storage"
)

// rules is a RuleEngine fake: it keeps what it is given and refuses a rule
// without a service as the detector does.
type rules struct{ got []domain.Rule }

func (r *rules) AddRule(_ context.Context, rule domain.Rule) (*domain.Rule, error) {
	if rule.Service == "" {
		return nil, fmt.Errorf("%w: a rule needs a service", detection.ErrBadRule)
	}
	rule.ID = fmt.Sprintf("r%d", len(r.got)+1)
	r.got = append(r.got, rule)
	return &rule, nil
}

func (r *rules) DeleteRule(_ context.Context, tenant, id string) error {
	for i, x := range r.got {
		if x.Tenant == tenant && x.ID == id {
			r.got = append(r.got[:i], r.got[i+1:]...)
			return nil
		}
	}
	return storage.ErrNotFound
}

// TestRulesOverAFakeDetector: the service's part of a rule — who may, the
// tenant and author from the credential, durations read, refusals named,
// audit — over a fake of the one interface it needs.
func TestRulesOverAFakeDetector(t *testing.T) {
	r := newRig(t)
	fake := &rules{}
	svc := service.New(service.Config{}, service.Deps{Detection: fake, Audit: r.store, Rules: r.store}, nil)
	ann := as("ann", auth.RoleResponder)
	rule, err := svc.CreateRule(r.ctx, ann, service.RuleInput{Name: "p99", Kind: "threshold", Service: "payment", Signal: "p99_ms",
		Op: ">", Value: 500, For: "2m"})
	require.NoError(t, err)
	require.Len(t, fake.got, 1)
	assert.Equal(t, "t1", fake.got[0].Tenant)
	assert.Equal(t, "ann", fake.got[0].CreatedBy)
	assert.Equal(t, int64(120e9), fake.got[0].ForNano)

	_, err = svc.CreateRule(r.ctx, ann, service.RuleInput{Name: "x", Kind: "threshold", For: "soon"})
	require.ErrorIs(t, err, service.ErrInvalid)
	assert.Contains(t, err.Error(), `for "soon"`)
	_, err = svc.CreateRule(r.ctx, ann, service.RuleInput{Name: "x", Kind: "threshold"})
	require.ErrorIs(t, err, service.ErrInvalid, "the detector's refusal is the caller's to fix")
	assert.Contains(t, err.Error(), "a rule needs a service")

	require.ErrorIs(t, svc.DeleteRule(r.ctx, of("t2", auth.RoleAdmin), rule.ID), service.ErrNotFound, "another tenant's rule")
	require.NoError(t, svc.DeleteRule(r.ctx, ann, rule.ID))
	assert.Empty(t, fake.got)
	assert.Contains(t, r.audit(), "rule.create "+rule.ID+" ok")
	assert.Contains(t, r.audit(), "rule.delete "+rule.ID+" ok")
}

package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/investigate"
	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/storage/updates"
)

// withInvestigations gives the rig a running investigation runner over its
// store (one worker).
func (r *rig) withInvestigations() *investigate.Runner {
	r.t.Helper()
	cfg := investigate.DefaultConfig()
	cfg.Workers, cfg.Settle = 1, 0 // the spans are stored already
	runner := investigate.New(cfg, investigate.Deps{Source: r.store, Store: r.store, Incidents: r.store}, nil, nil)
	require.NoError(r.t, runner.Start(r.ctx))
	r.t.Cleanup(func() { _ = runner.Shutdown(context.Background()) })
	r.svc = service.New(service.Config{MaxRange: 48 * time.Hour, Now: func() time.Time { return r.now }},
		service.Deps{Events: r.store, Incidents: r.store, Audit: r.store, Investigations: r.store, Investigator: runner,
			Updates: updates.NewBroker(nil)}, nil)
	return runner
}

// TestStartInvestigation: what to investigate is checked and named; a
// started one runs to its end and is read back, by its tenant only.
func TestStartInvestigation(t *testing.T) {
	r := newRig(t)
	r.spans(30, 10)
	r.incident("i1", "payment")
	r.withInvestigations()
	responder := as("ann", auth.RoleResponder)

	_, err := r.svc.StartInvestigation(r.ctx, as("val", auth.RoleViewer), service.InvestigationInput{IncidentID: str("i1")})
	require.ErrorIs(t, err, service.ErrForbidden)
	_, err = r.svc.StartInvestigation(r.ctx, responder, service.InvestigationInput{})
	require.ErrorIs(t, err, service.ErrInvalid)
	assert.Contains(t, err.Error(), "incidentId, an anomalyId or a range")
	_, err = r.svc.StartInvestigation(r.ctx, responder, service.InvestigationInput{IncidentID: str("nope")})
	require.ErrorIs(t, err, service.ErrNotFound)
	_, err = r.svc.StartInvestigation(r.ctx, responder, service.InvestigationInput{AnomalyID: str("nope")})
	require.ErrorIs(t, err, service.ErrNotFound)
	assert.Equal(t, `anomaly "nope" not found`, err.Error())
	_, err = r.svc.StartInvestigation(r.ctx, responder, service.InvestigationInput{Range: &service.Range{From: "now-10m", To: "now"},
		Baseline: &service.Range{From: "now-15m", To: "now-5m"}})
	require.ErrorIs(t, err, service.ErrInvalid)
	assert.Contains(t, err.Error(), "baseline must end before the range begins")

	inv, err := r.svc.StartInvestigation(r.ctx, responder, service.InvestigationInput{IncidentID: str("i1")})
	require.NoError(t, err)
	assert.Equal(t, "i1", inv.IncidentID)
	assert.Equal(t, "ann", inv.Trigger, "whoever started it is its trigger (and may not approve its proposals)")
	require.Eventually(t, func() bool {
		got, err := r.svc.Investigation(r.ctx, as("val", auth.RoleViewer), inv.ID)
		return err == nil && got.Status != domain.InvestigationRunning
	}, 30*time.Second, 20*time.Millisecond)
	got, err := r.svc.Investigation(r.ctx, as("val", auth.RoleViewer), inv.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.InvestigationDone, got.Status)

	r.now = time.Now().Add(time.Minute) // the runner's clock is the wall's
	_, err = r.svc.Investigation(r.ctx, of("t2", auth.RoleAdmin), inv.ID)
	require.ErrorIs(t, err, service.ErrNotFound, "another tenant's")
	list, err := r.svc.Investigations(r.ctx, as("val", auth.RoleViewer), lastHour, "i1")
	require.NoError(t, err)
	assert.Len(t, list, 1)
	latest, err := r.svc.IncidentInvestigation(r.ctx, as("val", auth.RoleViewer), "i1")
	require.NoError(t, err)
	assert.Equal(t, inv.ID, latest.ID)
	assert.Contains(t, r.audit(), "investigation.start "+inv.ID+" ok")

	_, err = r.svc.InvestigationProgress(r.ctx, as("val", auth.RoleViewer), "nope")
	require.ErrorIs(t, err, service.ErrNotFound)
}

// asker answers from a script, hearing each step.
type asker struct{ fail error }

func (a asker) Ask(_ context.Context, p service.Principal, in service.AskInput, step func(service.AskStep)) (*service.AskAnswer, error) {
	if a.fail != nil {
		return nil, a.fail
	}
	if step != nil {
		step(service.AskStep{Kind: "interpretation", Text: "p99 of checkout"})
	}
	return &service.AskAnswer{Question: in.Question, Understood: true, Answer: "p99 was 1.2 s for " + p.Tenant}, nil
}

func TestAsk(t *testing.T) {
	svc := service.New(service.Config{}, service.Deps{}, nil)
	viewer := as("val", auth.RoleViewer)
	_, err := svc.Ask(context.Background(), viewer, service.AskInput{Question: "p99 of checkout?"})
	require.ErrorIs(t, err, service.ErrUnavailable, "no ask box in this process")

	svc.SetAsker(asker{})
	_, err = svc.Ask(context.Background(), viewer, service.AskInput{Question: "  "})
	require.ErrorIs(t, err, service.ErrInvalid)
	_, err = svc.Ask(context.Background(), viewer, service.AskInput{Question: strings.Repeat("why ", 1000)})
	require.ErrorIs(t, err, service.ErrInvalid)
	assert.Contains(t, err.Error(), "characters long")
	a, err := svc.Ask(context.Background(), viewer, service.AskInput{Question: "p99 of checkout?"})
	require.NoError(t, err)
	assert.Equal(t, "p99 was 1.2 s for t1", a.Answer)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps, err := svc.AskStream(ctx, viewer, service.AskInput{Question: "p99 of checkout?"})
	require.NoError(t, err)
	var kinds []string
	for st := range steps {
		kinds = append(kinds, st.Kind)
	}
	assert.Equal(t, []string{"interpretation", "answer"}, kinds, "each step, then the answer, then the stream ends")

	svc.SetAsker(asker{fail: errors.New("model at 10.0.0.3 refused: key sk-123")})
	_, err = svc.Ask(context.Background(), viewer, service.AskInput{Question: "p99 of checkout?"})
	require.Error(t, err)
}

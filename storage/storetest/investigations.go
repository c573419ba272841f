package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

func testInvestigations(t *testing.T, s storage.InvestigationStore) {
	ctx := t.Context()
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).UnixNano()
	inv := domain.Investigation{
		Tenant: "acme", ID: "inv-1", IncidentID: "inc-1", Trigger: "incident", Status: domain.InvestigationRunning,
		Scope: domain.InvestigationScope{
			Range:    domain.TimeRange{Start: base, End: base + int64(3*time.Minute)},
			Baseline: domain.TimeRange{Start: base - int64(30*time.Minute), End: base},
			Filters:  []domain.Filter{{Field: domain.Field{Kind: domain.FieldColumn, Name: "service"}, Op: domain.OpEq, Value: "payment"}},
		},
		Services: []string{"payment", "checkout"}, StartedNano: base + int64(time.Minute),
	}
	created, err := s.CreateInvestigation(ctx, inv)
	require.NoError(t, err)
	require.True(t, created)
	again := inv
	again.Trigger = "someone"
	created, err = s.CreateInvestigation(ctx, again)
	require.NoError(t, err)
	require.False(t, created, "a second create with the same id must not replace the first")
	got, err := s.Investigation(ctx, "acme", "inv-1")
	require.NoError(t, err)
	require.Equal(t, "incident", got.Trigger)
	require.Equal(t, inv.Scope, got.Scope)

	running, err := s.RunningInvestigations(ctx)
	require.NoError(t, err)
	require.Len(t, running, 1)

	inv.Status = domain.InvestigationDone
	inv.FinishedNano = inv.StartedNano + int64(time.Second)
	inv.Hypotheses = []domain.Hypothesis{{Service: "payment", Cause: domain.CauseBadDeploy, Confidence: 0.8, Summary: "payment 2.3.1",
		Evidence: []domain.Evidence{{Kind: "bubbleup", Text: "attr.payment_provider=stripe_v3", Strength: 0.9,
			Query: &domain.EvidenceQuery{Field: "bubbleUp", Variables: json.RawMessage(`{"input":{"range":{"from":"a"}}}`)}}},
		Path: []string{"frontend", "checkout", "payment"}}}
	require.NoError(t, s.PutInvestigation(ctx, inv))
	got, err = s.Investigation(ctx, "acme", "inv-1")
	require.NoError(t, err)
	require.Equal(t, domain.InvestigationDone, got.Status)
	require.Equal(t, inv.Hypotheses, got.Hypotheses)
	running, err = s.RunningInvestigations(ctx)
	require.NoError(t, err)
	require.Empty(t, running, "a finished investigation is not running")

	other := domain.Investigation{Tenant: "acme", ID: "inv-2", Status: domain.InvestigationDone, StartedNano: base + int64(2*time.Minute)}
	require.NoError(t, s.PutInvestigation(ctx, other))
	foreign := domain.Investigation{Tenant: "globex", ID: "inv-3", IncidentID: "inc-1", Status: domain.InvestigationDone, StartedNano: base + int64(time.Minute)}
	require.NoError(t, s.PutInvestigation(ctx, foreign))

	day := domain.TimeRange{Start: base - int64(time.Hour), End: base + int64(time.Hour)}
	list, err := s.Investigations(ctx, "acme", day, "", 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "inv-2", list[0].ID, "newest first")
	list, err = s.Investigations(ctx, "acme", day, "inc-1", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "inv-1", list[0].ID)
	list, err = s.Investigations(ctx, "acme", domain.TimeRange{Start: base + int64(90*time.Second), End: base + int64(time.Hour)}, "", 10)
	require.NoError(t, err)
	require.Len(t, list, 1, "only those started in the range")
	_, err = s.Investigation(ctx, "globex", "inv-1")
	require.ErrorIs(t, err, storage.ErrNotFound, "another tenant's id is not found")
}

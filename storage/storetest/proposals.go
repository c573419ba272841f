package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

func testProposals(t *testing.T, s storage.ProposalStore) {
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).UnixNano()
	p := domain.Proposal{Tenant: "acme", ID: "prop-1", IncidentID: "inc-1", InvestigationID: "inv-1", Action: "rollback",
		Target: "payment", Params: map[string]string{"version": "2.3.0"}, Risk: domain.RiskMedium, Status: domain.ProposalPending,
		ProposedBy: "inquest", ProposedNano: at, ExpiresNano: at + int64(30*time.Minute)}
	created, err := s.CreateProposal(ctx, p)
	require.NoError(t, err)
	require.True(t, created)
	created, err = s.CreateProposal(ctx, p)
	require.NoError(t, err)
	require.False(t, created, "an id is created once")

	got, err := s.Proposal(ctx, "acme", "prop-1")
	require.NoError(t, err)
	assert.Equal(t, p, *got)
	_, err = s.Proposal(ctx, "globex", "prop-1")
	require.ErrorIs(t, err, storage.ErrNotFound, "another tenant's id is not found")

	// Racing changes against one version: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			change := *got
			change.Status = domain.ProposalApproved
			change.Approvals = []domain.Decision{{Actor: string(rune('a' + i)), AtNano: at + 1}}
			if err := s.UpdateProposal(ctx, change, got.Version); err == nil {
				wins <- change.Approvals[0].Actor
			} else {
				assert.ErrorIs(t, err, storage.ErrConflict)
			}
		}()
	}
	wg.Wait()
	close(wins)
	var winners []string
	for w := range wins {
		winners = append(winners, w)
	}
	require.Len(t, winners, 1, "one of eight racing changes wins")
	got, err = s.Proposal(ctx, "acme", "prop-1")
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalApproved, got.Status)
	assert.Equal(t, int64(1), got.Version)
	assert.Equal(t, winners[0], got.Approvals[0].Actor)
	err = s.UpdateProposal(ctx, domain.Proposal{Tenant: "acme", ID: "nope"}, 0)
	assert.ErrorIs(t, err, storage.ErrNotFound)

	open, err := s.OpenProposals(ctx)
	require.NoError(t, err)
	require.Len(t, open, 1, "approved is still in motion")
	done := *got
	done.Status = domain.ProposalSucceeded
	require.NoError(t, s.UpdateProposal(ctx, done, got.Version))
	open, err = s.OpenProposals(ctx)
	require.NoError(t, err)
	assert.Empty(t, open, "a succeeded proposal is not")

	other := domain.Proposal{Tenant: "acme", ID: "prop-2", IncidentID: "inc-2", Action: "page", Target: "db", Risk: domain.RiskInfo,
		Status: domain.ProposalPending, ProposedNano: at + int64(time.Minute)}
	_, err = s.CreateProposal(ctx, other)
	require.NoError(t, err)
	_, err = s.CreateProposal(ctx, domain.Proposal{Tenant: "globex", ID: "prop-3", IncidentID: "inc-1", Status: domain.ProposalPending, ProposedNano: at})
	require.NoError(t, err)
	day := domain.TimeRange{Start: at - int64(time.Hour), End: at + int64(time.Hour)}
	list, err := s.Proposals(ctx, "acme", day, "", "", 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "prop-2", list[0].ID, "newest first")
	list, err = s.Proposals(ctx, "acme", day, "inc-1", "", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "prop-1", list[0].ID)
	list, err = s.Proposals(ctx, "acme", day, "", "inv-1", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
}

// RunSettings runs the settings part of the suite: a value is read back,
// replaced, and never seen by another tenant.
func RunSettings(t *testing.T, open func(t *testing.T) storage.SettingStore) {
	t.Run("Settings", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		_, err := s.Setting(ctx, "acme", "approval-policy")
		require.ErrorIs(t, err, storage.ErrNotFound)
		require.NoError(t, s.PutSetting(ctx, "acme", "approval-policy", []byte(`{"tiers":{}}`)))
		require.NoError(t, s.PutSetting(ctx, "acme", "approval-policy", []byte(`{"tiers":{"low":{}}}`)))
		got, err := s.Setting(ctx, "acme", "approval-policy")
		require.NoError(t, err)
		assert.JSONEq(t, `{"tiers":{"low":{}}}`, string(got), "the last value wins")
		_, err = s.Setting(ctx, "globex", "approval-policy")
		require.ErrorIs(t, err, storage.ErrNotFound, "another tenant's setting is not seen")
	})
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// The parts of the suite for what the embedded store keeps besides events
// and metrics: dead letters, API keys, usage, the audit log, anomalies,
// incidents and rules.

func testDeadLetters(t *testing.T, s storage.Store) {
	ctx := context.Background()
	require.NoError(t, s.PutDeadLetters(ctx, []domain.DeadLetter{
		{Tenant: "t1", ID: "one", TimeUnixNano: base, Source: "otlp-http", Format: "otlp-traces-proto", Reason: "truncated", Payload: []byte{1, 2, 3}},
		{Tenant: "t1", ID: "two", TimeUnixNano: base + 1, Source: "json", Format: "json-events", Reason: "NaN", Payload: []byte(`{"a":1}`)},
	}))
	dls, err := s.DeadLetters(ctx, "t1", all(), 10, false)
	require.NoError(t, err)
	require.Len(t, dls, 2)
	assert.Equal(t, "two", dls[0].ID)
	d, err := s.DeadLetter(ctx, "t1", "one")
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3}, d.Payload)
	assert.Zero(t, d.ReplayedAtNano)
	require.NoError(t, s.MarkReplayed(ctx, "t1", "one", base+5))
	d, err = s.DeadLetter(ctx, "t1", "one")
	require.NoError(t, err)
	assert.Equal(t, base+5, d.ReplayedAtNano)
	dls, err = s.DeadLetters(ctx, "t1", all(), 10, false)
	require.NoError(t, err)
	require.Len(t, dls, 1, "a replayed dead letter leaves the list")
	assert.Equal(t, "two", dls[0].ID)
	dls, err = s.DeadLetters(ctx, "t1", all(), 10, true)
	require.NoError(t, err)
	require.Len(t, dls, 2, "and is kept for the record")
	assert.Equal(t, base+5, dls[1].ReplayedAtNano)
}

func testAPIKeys(t *testing.T, s storage.Store) {
	ctx := context.Background()
	k := domain.APIKey{Tenant: "t1", ID: "k1", Name: "collector", Role: "viewer", SecretHash: []byte{1, 2, 3}, CreatedBy: "ann", CreatedAtNano: base}
	require.NoError(t, s.PutAPIKey(ctx, k))
	require.NoError(t, s.PutAPIKey(ctx, domain.APIKey{Tenant: "t2", ID: "k2", Name: "other", Role: "admin", SecretHash: []byte{9}, CreatedAtNano: base}))
	assert.Error(t, s.PutAPIKey(ctx, k), "IDs are unique")

	got, err := s.APIKey(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, k, *got)
	_, err = s.APIKey(ctx, "nope")
	assert.True(t, errors.Is(err, storage.ErrNotFound))

	keys, err := s.APIKeys(ctx, "t1")
	require.NoError(t, err)
	require.Len(t, keys, 1, "listing is per tenant")
	require.NoError(t, s.TouchAPIKey(ctx, "k1", base+5))
	assert.True(t, errors.Is(s.RevokeAPIKey(ctx, "t2", "k1", base+6), storage.ErrNotFound), "another tenant cannot revoke it")
	require.NoError(t, s.RevokeAPIKey(ctx, "t1", "k1", base+7))
	assert.True(t, errors.Is(s.RevokeAPIKey(ctx, "t1", "k1", base+8), storage.ErrNotFound), "revoked once")
	got, err = s.APIKey(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, base+5, got.LastUsedAtNano)
	assert.Equal(t, base+7, got.RevokedAtNano)
}

func testUsage(t *testing.T, s storage.Store) {
	ctx := context.Background()
	h := base - base%int64(time.Hour)
	require.NoError(t, s.AddUsage(ctx, []domain.UsageHour{{Tenant: "t1", HourNano: h, Events: 10, Bytes: 100, Queries: 1},
		{Tenant: "t2", HourNano: h, Events: 99}}))
	require.NoError(t, s.AddUsage(ctx, []domain.UsageHour{{Tenant: "t1", HourNano: h, Events: 5, Bytes: 50, Queries: 2},
		{Tenant: "t1", HourNano: h + int64(time.Hour), Events: 1}}))
	got, err := s.Usage(ctx, "t1", rng(h, h+2*int64(time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, []domain.UsageHour{{Tenant: "t1", HourNano: h, Events: 15, Bytes: 150, Queries: 3},
		{Tenant: "t1", HourNano: h + int64(time.Hour), Events: 1}}, got, "counts add up per hour; other tenants are not listed")
}

func testAudit(t *testing.T, s storage.Store) {
	ctx := context.Background()
	require.NoError(t, s.AppendAudit(ctx, []domain.AuditEntry{
		{Tenant: "t1", ID: "a", TimeUnixNano: base, Actor: "ann", Action: "api_key.create", Target: "k1", Outcome: "ok"},
		{Tenant: "t1", ID: "b", TimeUnixNano: base + 1, Actor: "bob", Action: "access.denied", Target: "createAPIKey", Outcome: "denied", Detail: "needs admin"},
		{Tenant: "t2", ID: "c", TimeUnixNano: base, Actor: "eve", Action: "api_key.create", Outcome: "ok"},
	}))
	got, err := s.AuditLog(ctx, "t1", all(), 10)
	require.NoError(t, err)
	require.Len(t, got, 2, "per tenant")
	assert.Equal(t, "b", got[0].ID, "newest first")
	assert.Equal(t, "needs admin", got[0].Detail)
	assert.ErrorIs(t, s.AppendAudit(ctx, []domain.AuditEntry{{ID: "x"}}), domain.ErrNoTenant, "an entry needs a tenant")
}

func testIncidents(t *testing.T, s storage.IncidentStore) {
	ctx := context.Background()
	min := int64(time.Minute)
	a := domain.Anomaly{Tenant: "t1", ID: "a1", Series: "red:payment:p99_ms", Service: "payment", Signal: "p99_ms",
		StartNano: base, Severity: "high", Score: 12, Expected: 70, Observed: 1900, Lower: 0, Upper: 300, Detector: "zscore",
		Explanation: "p99 above", IncidentID: "i1"}
	b := a
	b.ID, b.Service, b.Series, b.StartNano, b.EndNano = "a2", "checkout", "red:checkout:p99_ms", base+min, base+2*min
	other := a
	other.Tenant = "t2"
	require.NoError(t, s.PutAnomalies(ctx, []domain.Anomaly{a, b, other}))
	a.EndNano = base + 5*min // the anomaly ended: replaced, not added
	require.NoError(t, s.PutAnomalies(ctx, []domain.Anomaly{a}))

	an, err := s.Anomaly(ctx, "t1", "a2")
	require.NoError(t, err)
	assert.Equal(t, b, *an)
	_, err = s.Anomaly(ctx, "t3", "a2")
	require.ErrorIs(t, err, storage.ErrNotFound, "another tenant's anomaly is not found")
	got, err := s.Anomalies(ctx, "t1", all(), "", 10)
	require.NoError(t, err)
	require.Len(t, got, 2, "per tenant, replaced by id")
	assert.Equal(t, "a2", got[0].ID, "newest first")
	assert.Equal(t, base+5*min, got[1].EndNano)
	assert.Equal(t, b, got[0])
	got, err = s.Anomalies(ctx, "t1", rng(base+3*min, base+4*min), "", 10)
	require.NoError(t, err)
	require.Len(t, got, 1, "overlapping the range only")
	got, err = s.Anomalies(ctx, "t1", all(), "checkout", 10)
	require.NoError(t, err)
	require.Len(t, got, 1)

	in := domain.Incident{Tenant: "t1", ID: "i1", Title: "payment: p99 1.9 s", Severity: "high", Status: domain.IncidentOpen,
		Services: []string{"payment", "checkout"}, AnomalyIDs: []string{"a1", "a2"}, OpenedNano: base, UpdatedNano: base + min,
		Timeline: []domain.IncidentEvent{{TimeUnixNano: base, Kind: "opened", Text: "payment p99"}}}
	require.NoError(t, s.PutIncident(ctx, in))
	in.Status, in.AcknowledgedBy = domain.IncidentAcknowledged, "ann"
	in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: base + min, Kind: "acknowledged", Actor: "ann"})
	require.NoError(t, s.PutIncident(ctx, in))
	require.NoError(t, s.PutIncident(ctx, domain.Incident{Tenant: "t2", ID: "i1", Title: "other", Status: domain.IncidentOpen, OpenedNano: base}))

	one, err := s.Incident(ctx, "t1", "i1")
	require.NoError(t, err)
	assert.Equal(t, in, *one)
	list, err := s.Incidents(ctx, "t1", all(), "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	list, err = s.Incidents(ctx, "t1", all(), domain.IncidentResolved)
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = s.Incident(ctx, "t1", "nope")
	assert.True(t, errors.Is(err, storage.ErrNotFound))
	_, err = s.Incidents(ctx, "", all(), "")
	assert.Error(t, err, "an empty tenant is refused")
	testIncidentCAS(t, s)
}

// testIncidentCAS: changes are compare-and-set on the version; of racing
// changes made against one version exactly one wins.
func testIncidentCAS(t *testing.T, s storage.IncidentStore) {
	ctx := context.Background()
	in := domain.Incident{Tenant: "t1", ID: "cas", Title: "cas", Severity: "high", Status: domain.IncidentOpen,
		Services: []string{"payment"}, AnomalyIDs: []string{}, OpenedNano: base, UpdatedNano: base,
		Timeline: []domain.IncidentEvent{{TimeUnixNano: base, Kind: "opened", Text: "opened"}}}
	require.NoError(t, s.UpdateIncident(ctx, in, 0), "a new incident is created at version 1")
	assert.True(t, errors.Is(s.UpdateIncident(ctx, in, 0), storage.ErrConflict), "it exists already")
	got, err := s.Incident(ctx, "t1", "cas")
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Version)

	const racers = 20
	wins := make(chan string, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := *got
			c.Status, c.AcknowledgedBy = domain.IncidentAcknowledged, fmt.Sprintf("racer-%d", i)
			err := s.UpdateIncident(ctx, c, got.Version)
			if err == nil {
				wins <- c.AcknowledgedBy
			} else {
				assert.True(t, errors.Is(err, storage.ErrConflict), err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	var winners []string
	for w := range wins {
		winners = append(winners, w)
	}
	require.Len(t, winners, 1, "one change wins")
	got, err = s.Incident(ctx, "t1", "cas")
	require.NoError(t, err)
	assert.Equal(t, winners[0], got.AcknowledgedBy)
	assert.Equal(t, int64(2), got.Version)

	open, err := s.OpenIncidents(ctx)
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, o := range open {
		ids[o.Tenant+"/"+o.ID] = true
		assert.NotEqual(t, domain.IncidentResolved, o.Status)
	}
	assert.True(t, ids["t1/cas"] && ids["t2/i1"], "every tenant's unresolved incidents: %v", ids)
	got.Status, got.ResolvedNano = domain.IncidentResolved, base+int64(time.Hour)
	require.NoError(t, s.UpdateIncident(ctx, *got, got.Version))
	open, err = s.OpenIncidents(ctx)
	require.NoError(t, err)
	for _, o := range open {
		assert.NotEqual(t, "cas", o.ID, "a resolved incident is not open")
	}
}

func testRules(t *testing.T, s storage.Store) {
	ctx := context.Background()
	r1 := domain.Rule{Tenant: "t1", ID: "r1", Name: "checkout errors", Kind: domain.RuleThreshold, Service: "checkout",
		Signal: "error_ratio", Op: ">", Value: 0.05, ForNano: int64(time.Minute), CreatedBy: "ann", CreatedNano: base}
	r2 := domain.Rule{Tenant: "t1", ID: "r2", Name: "payment SLO", Kind: domain.RuleSLO, Service: "payment", Objective: 0.999,
		CreatedBy: "ann", CreatedNano: base + 1}
	r3 := domain.Rule{Tenant: "t2", ID: "r3", Name: "other", Kind: domain.RuleSLO, Service: "x", Objective: 0.99, CreatedNano: base}
	for _, r := range []domain.Rule{r1, r2, r3} {
		require.NoError(t, s.PutRule(ctx, r))
	}
	got, err := s.Rules(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, []domain.Rule{r1, r2}, got, "per tenant, oldest first")
	all, err := s.Rules(ctx, "*")
	require.NoError(t, err)
	assert.Len(t, all, 3)
	assert.True(t, errors.Is(s.DeleteRule(ctx, "t2", "r1"), storage.ErrNotFound), "another tenant cannot delete it")
	require.NoError(t, s.DeleteRule(ctx, "t1", "r1"))
	got, err = s.Rules(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, []domain.Rule{r2}, got)
	_, err = s.Rules(ctx, "")
	assert.Error(t, err)
}

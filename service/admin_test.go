package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/storage/updates"
)

func TestAPIKeys(t *testing.T) {
	r := newRig(t)
	admin := as("root", auth.RoleAdmin)
	_, err := r.svc.CreateAPIKey(r.ctx, as("ann", auth.RoleResponder), "ci", auth.RoleIngest)
	require.ErrorIs(t, err, service.ErrForbidden)
	_, err = r.svc.CreateAPIKey(r.ctx, admin, "  ", auth.RoleViewer)
	require.ErrorIs(t, err, service.ErrInvalid)
	_, err = r.svc.CreateAPIKey(r.ctx, admin, "ci", "overlord")
	require.ErrorIs(t, err, service.ErrInvalid)

	k, err := r.svc.CreateAPIKey(r.ctx, admin, "ci", auth.RoleViewer)
	require.NoError(t, err)
	assert.NotEmpty(t, k.Secret, "the secret is shown once, at creation")
	keys, err := r.svc.APIKeys(r.ctx, admin)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	others, err := r.svc.APIKeys(r.ctx, of("t2", auth.RoleAdmin))
	require.NoError(t, err)
	assert.Empty(t, others, "keys are the tenant's")

	var revoked []string
	r2 := service.New(service.Config{Now: func() time.Time { return r.now }}, service.Deps{APIKeys: r.store, Audit: r.store,
		OnRevoke: func(id string) { revoked = append(revoked, id) }}, nil)
	_, err = r2.RevokeAPIKey(r.ctx, admin, k.Key.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{k.Key.ID}, revoked, "caches are told")
	_, err = r2.RevokeAPIKey(r.ctx, admin, k.Key.ID)
	require.ErrorIs(t, err, service.ErrNotFound)
	assert.Contains(t, err.Error(), "already revoked")

	audit := r.audit()
	assert.Contains(t, audit, "api_key.create "+k.Key.ID+" ok")
	assert.Contains(t, audit, "api_key.revoke "+k.Key.ID+" ok")
	r.now = r.now.Add(time.Second) // the log's range ends before now
	log, err := r.svc.AuditLog(r.ctx, admin, lastHour, nil)
	require.NoError(t, err)
	assert.NotEmpty(t, log)
	_, err = r.svc.AuditLog(r.ctx, as("val", auth.RoleViewer), lastHour, nil)
	require.ErrorIs(t, err, service.ErrForbidden, "the audit log is an admin's")
}

func TestDeadLettersNeedIntakeToReplay(t *testing.T) {
	r := newRig(t)
	require.NoError(t, r.store.PutDeadLetters(r.ctx, []domain.DeadLetter{{Tenant: "t1", ID: "d1", TimeUnixNano: r.now.Add(-time.Minute).UnixNano(),
		Source: "http", Format: "otlp_json", Reason: "bad", Payload: []byte("{")}}))
	dls, err := r.svc.DeadLetters(r.ctx, as("val", auth.RoleViewer), lastHour, nil, false)
	require.NoError(t, err)
	require.Len(t, dls, 1)
	_, err = r.svc.ReplayDeadLetter(r.ctx, as("val", auth.RoleViewer), "d1")
	require.ErrorIs(t, err, service.ErrForbidden)
}

// TestSubscriptionsAreBoundedPerTenant: a tenant at its limit is refused
// until one of its subscriptions ends; other tenants are not.
func TestSubscriptionsAreBoundedPerTenant(t *testing.T) {
	r := newRig(t)
	viewer := as("val", auth.RoleViewer)
	ctx1, cancel1 := context.WithCancel(r.ctx)
	ctx2, cancel2 := context.WithCancel(r.ctx)
	defer cancel2()
	_, err := r.svc.IncidentUpdated(ctx1, viewer)
	require.NoError(t, err)
	_, err = r.svc.AnomalyDetected(ctx2, viewer)
	require.NoError(t, err)
	_, err = r.svc.IncidentUpdated(r.ctx, viewer)
	require.ErrorIs(t, err, service.ErrUnavailable)
	assert.Contains(t, err.Error(), "2 subscriptions open")
	other, cancelOther := context.WithCancel(r.ctx)
	defer cancelOther()
	_, err = r.svc.IncidentUpdated(other, of("t2", auth.RoleViewer))
	require.NoError(t, err)

	cancel1()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithCancel(r.ctx)
		defer cancel()
		_, err := r.svc.IncidentUpdated(ctx, viewer)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "a closed subscription frees its place")
}

// TestIncidentUpdatesAreTheTenants: a subscriber hears its tenant's
// incidents and not another's.
func TestIncidentUpdatesAreTheTenants(t *testing.T) {
	broker := updates.NewBroker(nil)
	svc := service.New(service.Config{}, service.Deps{Updates: broker}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := svc.IncidentUpdated(ctx, as("val", auth.RoleViewer))
	require.NoError(t, err)
	broker.Publish(updates.Update{Incident: &domain.Incident{Tenant: "t2", ID: "theirs"}})
	broker.Publish(updates.Update{Incident: &domain.Incident{Tenant: "t1", ID: "ours"}})
	select {
	case in := <-ch:
		assert.Equal(t, "ours", in.ID)
	case <-time.After(10 * time.Second):
		t.Fatal("no update")
	}
}

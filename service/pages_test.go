package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// TestListingsArePagedAndScoped: every listing takes its page size from
// one rule (1..MaxPageSize, a default when absent) and reads only the
// caller's tenant.
func TestListingsArePagedAndScoped(t *testing.T) {
	r := newRig(t)
	var dls []domain.DeadLetter
	for i := range 30 {
		for _, tenant := range []string{"t1", "t2"} {
			dls = append(dls, domain.DeadLetter{Tenant: tenant, ID: fmt.Sprintf("%s-%02d", tenant, i), Source: "http", Format: "otlp_json",
				Reason: "bad", Payload: []byte("{"), TimeUnixNano: r.now.Add(-time.Duration(i+1) * time.Second).UnixNano()})
		}
	}
	require.NoError(t, r.store.PutDeadLetters(r.ctx, dls))
	viewer := as("val", auth.RoleViewer)
	ten := 10
	got, err := r.svc.DeadLetters(r.ctx, viewer, lastHour, &ten, false)
	require.NoError(t, err)
	require.Len(t, got, 10)
	assert.Equal(t, "t1-00", got[0].ID, "newest first")
	all, err := r.svc.DeadLetters(r.ctx, viewer, lastHour, nil, false)
	require.NoError(t, err)
	assert.Len(t, all, 30, "the default page holds them all")
	for _, d := range all {
		assert.Equal(t, "t1", d.Tenant)
	}
	for _, bad := range []int{0, -1, domain.MaxPageSize + 1} {
		_, err := r.svc.DeadLetters(r.ctx, viewer, lastHour, &bad, false)
		require.ErrorIs(t, err, service.ErrInvalid, "limit %d", bad)
		assert.Contains(t, err.Error(), fmt.Sprintf("between 1 and %d", domain.MaxPageSize))
	}
	_, err = r.svc.AuditLog(r.ctx, as("root", auth.RoleAdmin), lastHour, &ten)
	require.NoError(t, err)
}

// TestRanges: relative and absolute times, each mistake named, and the
// limit on how much one query may cover.
func TestRanges(t *testing.T) {
	r := newRig(t)
	viewer := as("val", auth.RoleViewer)
	for _, ok := range []service.Range{
		{From: "now-15m", To: "now"},
		{From: r.now.Add(-time.Hour).Format(time.RFC3339), To: r.now.Format(time.RFC3339)},
		{From: "now-2d", To: "now"},
	} {
		_, err := r.svc.Services(r.ctx, viewer, ok)
		assert.NoError(t, err, "%+v", ok)
	}
	for _, c := range []struct {
		rng  service.Range
		says string
	}{
		{service.Range{From: "now", To: "now-1h"}, "range"},
		{service.Range{From: "last tuesday", To: "now"}, "range"},
		{service.Range{From: "now-3d", To: "now"}, "longer than the limit of 48h0m0s"},
	} {
		_, err := r.svc.Services(r.ctx, viewer, c.rng)
		require.ErrorIs(t, err, service.ErrInvalid, "%+v", c.rng)
		assert.Contains(t, err.Error(), c.says)
	}
	_, err := r.svc.Services(r.ctx, as("nobody", auth.RoleIngest), lastHour)
	require.ErrorIs(t, err, service.ErrForbidden)
}

// TestOneTenantsQueriesDoNotSeeAnothers: the same query by two tenants
// over the same store reads two different worlds.
func TestOneTenantsQueriesDoNotSeeAnothers(t *testing.T) {
	r := newRig(t)
	r.spans(10, 2)
	mine, err := r.svc.Services(r.ctx, as("val", auth.RoleViewer), lastHour)
	require.NoError(t, err)
	assert.Len(t, mine, 2)
	theirs, err := r.svc.Services(r.ctx, of("t2", auth.RoleViewer), lastHour)
	require.NoError(t, err)
	assert.Empty(t, theirs)
	page, err := r.svc.Events(r.ctx, of("t2", auth.RoleViewer), service.EventsInput{Range: lastHour})
	require.NoError(t, err)
	assert.Empty(t, page.Events)
	groups, err := r.svc.ErrorGroups(r.ctx, of("t2", auth.RoleViewer), service.ErrorGroupsInput{Range: lastHour})
	require.NoError(t, err)
	assert.Empty(t, groups.Groups)
}

// TestRangeAtTheLimit: a range exactly as long as the limit, whose ends a
// face read a little apart, is taken; a second more is not.
func TestRangeAtTheLimit(t *testing.T) {
	r := newRig(t)
	viewer := as("val", auth.RoleViewer)
	limit := 48 * time.Hour
	at := func(d time.Duration) string { return r.now.Add(d).Format(time.RFC3339Nano) }
	_, err := r.svc.Services(r.ctx, viewer, service.Range{From: at(-limit - 341*time.Nanosecond), To: at(0)})
	require.NoError(t, err, "the ends of now-48h..now read 341 ns apart")
	_, err = r.svc.Services(r.ctx, viewer, service.Range{From: at(-limit - 2*time.Second), To: at(0)})
	require.ErrorIs(t, err, service.ErrInvalid)
}

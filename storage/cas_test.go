package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

func TestCompareAndSet(t *testing.T) {
	ctx := context.Background()
	var seen []int
	err := CompareAndSet(ctx, "incident x", func(attempt int) error {
		seen = append(seen, attempt)
		if attempt < 2 {
			return ErrConflict // lost twice, then won
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2}, seen)

	tries := 0
	err = CompareAndSet(ctx, "incident x", func(int) error { tries++; return ErrConflict })
	assert.ErrorIs(t, err, ErrConflict)
	assert.ErrorContains(t, err, "incident x")
	assert.Equal(t, Attempts, tries, "a contended record is given up on after Attempts")

	boom := errors.New("boom")
	tries = 0
	err = CompareAndSet(ctx, "p", func(int) error { tries++; return boom })
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 1, tries, "only a lost race is tried again")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	tries = 0
	err = CompareAndSet(cctx, "p", func(int) error { tries++; return ErrConflict })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, tries)
}

type auditLog struct {
	got  []domain.AuditEntry
	fail error
}

func (a *auditLog) AppendAudit(ctx context.Context, es []domain.AuditEntry) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if a.fail != nil {
		return a.fail
	}
	a.got = append(a.got, es...)
	return nil
}

func TestAuditor(t *testing.T) {
	log := &auditLog{}
	a := NewAuditor(log, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the request that made the change is gone; the entry is still written
	a.Write(ctx, domain.AuditEntry{Tenant: "t", Action: "incident.resolve"})
	a.Write(ctx, domain.AuditEntry{Action: "no tenant"})
	require.Len(t, log.got, 1)
	assert.NotEmpty(t, log.got[0].ID)
	assert.NotZero(t, log.got[0].TimeUnixNano)

	log.fail = errors.New("disk full")
	a.Write(context.Background(), domain.AuditEntry{Tenant: "t"}) // logged, not a panic
	var none *Auditor
	none.Write(context.Background(), domain.AuditEntry{Tenant: "t"})
	NewAuditor(nil, nil).Write(context.Background(), domain.AuditEntry{Tenant: "t"})
}

// TestWriteSampled: a flood of one unverified refusal writes one entry a
// minute per tenant, action and key, and the next says how many it stood
// for; another reason or tenant is written on its own.
func TestWriteSampled(t *testing.T) {
	log := &auditLog{}
	a := NewAuditor(log, nil)
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	forged := domain.AuditEntry{Tenant: "acme", Action: "slack.interaction", Outcome: "refused", Detail: "wrong Slack signature"}
	for range 500 {
		a.WriteSampled(context.Background(), forged, "wrong Slack signature")
	}
	require.Len(t, log.got, 1, "500 forged requests, one row")
	a.WriteSampled(context.Background(), domain.AuditEntry{Tenant: "acme", Action: "slack.interaction", Detail: "replayed"}, "replayed")
	a.WriteSampled(context.Background(), domain.AuditEntry{Tenant: "globex", Action: "slack.interaction", Detail: "wrong Slack signature"}, "wrong Slack signature")
	require.Len(t, log.got, 3, "another reason, another tenant")

	now = now.Add(SampleEvery)
	a.WriteSampled(context.Background(), forged, "wrong Slack signature")
	require.Len(t, log.got, 4)
	assert.Equal(t, "wrong Slack signature (and 499 more like it since the last entry)", log.got[3].Detail)

	for i := range maxSampled + 10 { // distinct keys cost bounded memory
		a.WriteSampled(context.Background(), forged, fmt.Sprint("k", i))
	}
	assert.LessOrEqual(t, len(a.sampled), maxSampled)
}

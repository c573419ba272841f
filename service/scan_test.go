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
	"github.com/inquest/inquest/storage"
)

// blockingEvents is an event store whose listing holds until released: a
// slow query in flight.
type blockingEvents struct {
	storage.EventStore
	started chan string
	release chan struct{}
}

func (b *blockingEvents) Events(ctx context.Context, q domain.EventQuery) (*domain.EventPage, error) {
	b.started <- q.Tenant
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return &domain.EventPage{}, nil
}

// TestQuerySlotsPerTenant: a tenant with its query slots taken waits and
// is then refused with a clear error, while another tenant's query runs.
func TestQuerySlotsPerTenant(t *testing.T) {
	store := &blockingEvents{started: make(chan string, 8), release: make(chan struct{})}
	svc := service.New(service.Config{MaxScans: 2, ScanWait: 200 * time.Millisecond}, service.Deps{Events: store}, nil)
	who := func(tenant string) service.Principal {
		return service.Principal{Principal: auth.Principal{Tenant: tenant, Roles: []string{"viewer"}}}
	}
	in := service.EventsInput{Range: service.Range{From: "now-1h", To: "now"}}

	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := svc.Events(context.Background(), who("acme"), in)
			errs <- err
		}()
	}
	for range 2 {
		assert.Equal(t, "acme", <-store.started)
	}
	_, err := svc.Events(context.Background(), who("acme"), in)
	require.Error(t, err)
	assert.Equal(t, service.KindUnavailable, service.KindOf(err))
	assert.Contains(t, err.Error(), "the tenant already runs 2 queries")

	// Another tenant is not held up by acme's.
	other := make(chan error, 1)
	go func() {
		_, err := svc.Events(context.Background(), who("globex"), in)
		other <- err
	}()
	assert.Equal(t, "globex", <-store.started)
	close(store.release)
	require.NoError(t, <-other)
	for range 2 {
		require.NoError(t, <-errs)
	}
	// The slots are given back.
	go func() { <-store.started }()
	_, err = svc.Events(context.Background(), who("acme"), in)
	assert.NoError(t, err)
}

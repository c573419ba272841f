package usage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

type memUsage struct {
	mu   sync.Mutex
	fail bool
	rows map[[2]any]domain.UsageHour
}

func (m *memUsage) AddUsage(_ context.Context, hs []domain.UsageHour) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("down")
	}
	for _, h := range hs {
		k := [2]any{h.Tenant, h.HourNano}
		r := m.rows[k]
		r.Tenant, r.HourNano = h.Tenant, h.HourNano
		r.Events, r.Bytes, r.Queries = r.Events+h.Events, r.Bytes+h.Bytes, r.Queries+h.Queries
		m.rows[k] = r
	}
	return nil
}

func (m *memUsage) Usage(_ context.Context, tenant string, _ domain.TimeRange) ([]domain.UsageHour, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []domain.UsageHour
	for _, r := range m.rows {
		if r.Tenant == tenant {
			out = append(out, r)
		}
	}
	return out, nil
}

func TestShutdownWithoutStart(t *testing.T) {
	m := NewMeter(&memUsage{rows: map[[2]any]domain.UsageHour{}}, time.Hour, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Shutdown(ctx) }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("Shutdown without Start hangs")
	}
}

func TestMeter(t *testing.T) {
	store := &memUsage{rows: map[[2]any]domain.UsageHour{}}
	m := NewMeter(store, time.Hour, nil)
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	m.Ingest("a", 10, 1000)
	m.Ingest("a", 5, 500)
	m.Query("a")
	m.Ingest("b", 1, 1)

	store.fail = true
	require.Error(t, m.Flush(context.Background()))
	store.fail = false
	m.Query("a")
	got, err := m.Usage(context.Background(), "a", domain.TimeRange{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, domain.UsageHour{Tenant: "a", HourNano: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).UnixNano(),
		Events: 15, Bytes: 1500, Queries: 2}, got[0], "nothing is lost when a flush fails")

	now = now.Add(time.Hour)
	m.Ingest("a", 1, 1)
	require.NoError(t, m.Start(context.Background()))
	require.NoError(t, m.Shutdown(context.Background()))
	require.NoError(t, m.Shutdown(context.Background()), "idempotent")
	got, _ = m.Usage(context.Background(), "a", domain.TimeRange{})
	assert.Len(t, got, 2, "a new hour")
}

package incidents_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/updates"
)

// TestRacingAcknowledgements: of ten people acknowledging one incident at
// once, one does; the others hear it is not open any more. Subscribers
// hear of the one change.
func TestRacingAcknowledgements(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "x.db")}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.UpdateIncident(ctx, domain.Incident{Tenant: "t1", ID: "i1", Title: "x", Severity: "high",
		Status: domain.IncidentOpen, OpenedNano: 1, UpdatedNano: 1}, 0))
	broker := updates.NewBroker(nil)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub := broker.Subscribe(sctx, "t1")
	lc := incidents.New(st, broker, nil, nil)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var won, refused int
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := lc.Acknowledge(ctx, "t1", "i1", string(rune('a'+i)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, incidents.ErrTransition):
				refused++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, won)
	assert.Equal(t, 9, refused)
	in, err := st.Incident(ctx, "t1", "i1")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentAcknowledged, in.Status)
	assert.Equal(t, int64(2), in.Version, "one change")
	acks := 0
	for _, e := range in.Timeline {
		if e.Kind == "acknowledged" {
			acks++
		}
	}
	assert.Equal(t, 1, acks)
	assert.Len(t, sub, 1, "subscribers hear of one change")
}

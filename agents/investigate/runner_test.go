package investigate_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/investigate"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
)

func openStore(t *testing.T) *duckdb.Store {
	s, err := duckdb.Open(context.Background(), duckdb.Config{}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, 20*time.Millisecond, what)
}

func scope(now time.Time) domain.InvestigationScope {
	return domain.InvestigationScope{Range: domain.TimeRange{Start: now.Add(-5 * time.Minute).UnixNano(), End: now.UnixNano()}}
}

// TestRestartMarksInterrupted: what a stopped process left running is
// marked interrupted at the next start, and an incident's is run again.
func TestRestartMarksInterrupted(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	now := time.Now()
	left := []domain.Investigation{
		{Tenant: "t1", ID: "inv-manual", Trigger: "alice", Status: domain.InvestigationRunning, Scope: scope(now), StartedNano: now.UnixNano()},
		{Tenant: "t1", ID: "inv-incident", IncidentID: "inc-1", Trigger: "incident", Status: domain.InvestigationRunning,
			Scope: scope(now), StartedNano: now.UnixNano(), Services: []string{"payment"}},
	}
	for _, inv := range left {
		require.NoError(t, store.PutInvestigation(ctx, inv))
	}
	r := investigate.New(investigate.DefaultConfig(), investigate.Deps{Source: store, Store: store}, nil, nil)
	require.NoError(t, r.Start(ctx))
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	for _, id := range []string{"inv-manual", "inv-incident"} {
		got, err := store.Investigation(ctx, "t1", id)
		require.NoError(t, err)
		assert.Equal(t, domain.InvestigationInterrupted, got.Status, id)
		assert.NotZero(t, got.FinishedNano)
		require.NotEmpty(t, got.Progress)
		assert.Equal(t, "done", got.Progress[len(got.Progress)-1].Kind)
	}
	eventually(t, "the incident's investigation runs again to its end", func() bool {
		got, err := store.Investigation(ctx, "t1", "inv-incident-again")
		return err == nil && got.Status == domain.InvestigationDone
	})
	list, err := store.Investigations(ctx, "t1", domain.TimeRange{Start: 0, End: now.Add(time.Hour).UnixNano()}, "inc-1", 10)
	require.NoError(t, err)
	assert.Len(t, list, 2)
	_, err = store.Investigation(ctx, "t1", "inv-manual-again")
	assert.ErrorIs(t, err, storage.ErrNotFound, "one a person started is not run again unasked")
}

// blocking holds SpanStats until released: a worker kept busy.
type blocking struct {
	*duckdb.Store
	release chan struct{}
}

func (b blocking) SpanStats(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.SpanStats, error) {
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return b.Store.SpanStats(ctx, tenant, r)
}

// TestQueueFullIsRefused: past its queue a start is refused with ErrBusy,
// and the refused investigation is stored as failed, saying why.
func TestQueueFullIsRefused(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	src := blocking{store, make(chan struct{})}
	r := investigate.New(investigate.Config{Workers: 1, Queue: 1}, investigate.Deps{Source: src, Store: store}, nil, nil)
	require.NoError(t, r.Start(ctx))
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	now := time.Now()
	first, err := r.Submit(ctx, r.New("t1", "alice", scope(now)))
	require.NoError(t, err)
	eventually(t, "the first is taken by the worker", func() bool {
		got, err := store.Investigation(ctx, "t1", first.ID)
		return err == nil && len(got.Steps) > 0
	})
	_, err = r.Submit(ctx, r.New("t1", "alice", scope(now)))
	require.NoError(t, err, "the second waits in the queue")
	third := r.New("t1", "alice", scope(now))
	_, err = r.Submit(ctx, third)
	require.ErrorIs(t, err, investigate.ErrBusy)
	got, err := store.Investigation(ctx, "t1", third.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.InvestigationFailed, got.Status)
	assert.Contains(t, got.Error, "too many investigations")
	close(src.release)
	eventually(t, "the first two finish", func() bool {
		got, err := store.Investigation(ctx, "t1", first.ID)
		return err == nil && got.Status == domain.InvestigationDone
	})
}

// TestWatchOncePerServices: an incident is investigated once for a set of
// services, again when it gains one.
func TestWatchOncePerServices(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	cfg := investigate.DefaultConfig()
	cfg.Settle = 0 // an incident's first window ends 30 s after it opened
	r := investigate.New(cfg, investigate.Deps{Source: store, Store: store}, nil, nil)
	require.NoError(t, r.Start(ctx))
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	now := time.Now()
	in := domain.Incident{Tenant: "t1", ID: "inc-9", Status: domain.IncidentOpen, Services: []string{"payment"}, OpenedNano: now.UnixNano()}
	count := func() int {
		list, err := store.Investigations(ctx, "t1", domain.TimeRange{Start: 0, End: now.Add(time.Hour).UnixNano()}, "inc-9", 10)
		require.NoError(t, err)
		return len(list)
	}
	r.Watch(in)
	r.Watch(in)
	eventually(t, "one investigation", func() bool { return count() == 1 })
	in.Services = append(in.Services, "checkout")
	r.Watch(in)
	eventually(t, "a second once it gains checkout", func() bool { return count() == 2 })
	r.Watch(in)
	in.Status = domain.IncidentResolved
	in.Services = append(in.Services, "frontend")
	r.Watch(in)
	// Both runs finish; no third was made for the resolved incident.
	eventually(t, "both finish", func() bool {
		list, err := store.Investigations(ctx, "t1", domain.TimeRange{Start: 0, End: now.Add(time.Hour).UnixNano()}, "inc-9", 10)
		require.NoError(t, err)
		done := 0
		for _, inv := range list {
			if inv.Status == domain.InvestigationDone {
				done++
			}
		}
		return done == 2
	})
	assert.Equal(t, 2, count())
}

// recording notes when SpanStats was asked and for which range.
type recording struct {
	*duckdb.Store
	mu     sync.Mutex
	asked  []time.Time
	ranges []domain.TimeRange
}

func (rec *recording) SpanStats(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.SpanStats, error) {
	rec.mu.Lock()
	rec.asked, rec.ranges = append(rec.asked, time.Now()), append(rec.ranges, r)
	rec.mu.Unlock()
	return rec.Store.SpanStats(ctx, tenant, r)
}

// TestWaitsForTheWindowToSettle: a window ending now is read only once
// its last spans had Settle to arrive, and one ending past the longest
// wait is cut at now - Settle, which the investigation records.
func TestWaitsForTheWindowToSettle(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	src := &recording{Store: store}
	const settle = 400 * time.Millisecond
	r := investigate.New(investigate.Config{Workers: 1, Settle: settle}, investigate.Deps{Source: src, Store: store}, nil, nil)
	require.NoError(t, r.Start(ctx))
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })

	now := time.Now()
	inv, err := r.Submit(ctx, r.New("t1", "alice", scope(now)))
	require.NoError(t, err)
	var got *domain.Investigation
	eventually(t, "it finishes", func() bool {
		got, err = store.Investigation(ctx, "t1", inv.ID)
		return err == nil && got.Status == domain.InvestigationDone
	})
	require.NotEmpty(t, got.Progress)
	assert.Contains(t, got.Progress[0].Text, "Waiting")
	src.mu.Lock()
	require.NotEmpty(t, src.asked)
	assert.False(t, src.asked[0].Before(now.Add(settle)), "read %s after the window's end, before it settled", src.asked[0].Sub(now))
	assert.Equal(t, now.UnixNano(), src.ranges[0].End, "a window that settled is read whole")
	src.mu.Unlock()

	// A stop does not wait for a window still settling: the investigation
	// is left running in the store, as a queued one is, for the next start.
	far := scope(now)
	far.Range.End = now.Add(time.Hour).UnixNano()
	r2 := investigate.New(investigate.Config{Workers: 1, Settle: settle}, investigate.Deps{Source: src, Store: store}, nil, nil)
	require.NoError(t, r2.Start(ctx))
	inv2, err := r2.Submit(ctx, r2.New("t1", "alice", far))
	require.NoError(t, err)
	eventually(t, "it waits", func() bool {
		got, err = store.Investigation(ctx, "t1", inv2.ID)
		return err == nil && len(got.Progress) > 0
	})
	stopped := time.Now()
	require.NoError(t, r2.Shutdown(ctx))
	assert.Less(t, time.Since(stopped), 5*time.Second, "the stop did not wait out the window")
	got, err = store.Investigation(ctx, "t1", inv2.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.InvestigationRunning, got.Status, "left for the next start")
	assert.Empty(t, got.Steps)
}

package detection

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/lock"
)

// Two writers of a scaled deployment share the store: one of them, the
// lease holder, reads the steps back and detects; the incident is opened
// once, and the other takes over when the first goes.
func TestPollModeOneLeader(t *testing.T) {
	ctx := context.Background()
	store, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	require.NoError(t, err)
	defer store.Close()
	coord := lock.NewLocal()
	clock := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	engines := make([]*Engine, 2)
	for i := range engines {
		e := newGrouped(t, DefaultEngineConfig(), store)
		e.EnablePolling(PollConfig{Events: store, Coordinator: coord, Holder: fmt.Sprint("writer-", i), Lease: 2 * time.Second})
		e.now = func() time.Time { return clock }
		engines[i] = e
	}
	rng := rand.New(rand.NewPCG(1, 2))
	step := func(faulty bool) {
		var evs []domain.Event
		for i := 0; i < 30; i++ {
			at := clock.Add(time.Duration(i) * 300 * time.Millisecond).UnixNano()
			parent := map[string]string{"checkout": "frontend", "payment": "checkout"}
			for _, svc := range []string{"frontend", "checkout", "payment"} {
				d := 40 + rng.NormFloat64()*5
				st := domain.StatusOK
				if faulty && i%4 == 0 {
					d += 1500
				}
				if faulty && i%10 == 0 {
					st = domain.StatusError
				}
				e := domain.Event{Tenant: "t1", TimeUnixNano: at, Kind: domain.KindSpan, Service: svc, Name: svc + " op",
					DurationNano: int64(d * 1e6), Status: st, SampleRate: 1, TraceID: fmt.Sprint("tr", at), SpanID: svc,
					ParentSpanID: parent[svc]}
				e.ID = e.ContentHash()
				evs = append(evs, e)
			}
		}
		require.NoError(t, store.WriteEvents(ctx, evs))
		// Each writer stored half of it and tells its engine.
		engines[0].Ingest(evs[:len(evs)/2], nil)
		engines[1].Ingest(evs[len(evs)/2:], nil)
		clock = clock.Add(10 * time.Second)
		for _, e := range engines {
			e.now = func() time.Time { return clock.Add(4 * time.Second) }
			e.Tick(ctx)
		}
	}
	step(false) // leadership is taken on the first tick
	leaders := 0
	for _, e := range engines {
		if e.Leader() {
			leaders++
		}
	}
	require.Equal(t, 1, leaders, "one writer detects")
	for i := 0; i < 20; i++ {
		step(false)
	}
	step(true)
	step(true)
	ins, err := store.Incidents(ctx, "t1", domain.TimeRange{Start: 0, End: clock.Add(time.Hour).UnixNano()}, "")
	require.NoError(t, err)
	require.Len(t, ins, 1, "opened once, over all of the data")
	assert.Equal(t, "payment", ins[0].Services[0])
	assert.Len(t, ins[0].Services, 3)
}

func TestPollModeTakeover(t *testing.T) {
	ctx := context.Background()
	store, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	require.NoError(t, err)
	defer store.Close()
	coord := lock.NewLocal()
	mk := func(name string) *Engine {
		e := newGrouped(t, DefaultEngineConfig(), store)
		e.EnablePolling(PollConfig{Events: store, Coordinator: coord, Holder: name, Lease: 200 * time.Millisecond})
		return e
	}
	a, b := mk("a"), mk("b")
	a.Tick(ctx)
	b.Tick(ctx)
	require.True(t, a.Leader())
	require.False(t, b.Leader(), "the lease is a's")
	// a stops (a crash): its lease runs out and b takes over.
	require.Eventually(t, func() bool { b.Tick(ctx); return b.Leader() }, 5*time.Second, 20*time.Millisecond)
	a.Tick(ctx)
	assert.False(t, a.Leader(), "a finds the lease taken when it comes back")
}

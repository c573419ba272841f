package duckdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
)

// TestPrune: retention counts from when a record was taken in, so an
// import of old data is kept; what was taken in long ago goes, in every
// table, with a tenant's own retention before the default.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	s, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "p.db")}, nil)
	require.NoError(t, err)
	defer s.Close()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	ev := func(tenant, name string, at, taken time.Time) domain.Event {
		e := domain.Event{Tenant: tenant, TimeUnixNano: at.UnixNano(), Kind: domain.KindEvent, Service: "s", Name: name,
			Status: domain.StatusUnset, SampleRate: 1, IngestedNano: taken.UnixNano()}
		e.ID = e.ContentHash()
		return e
	}
	require.NoError(t, s.WriteEvents(ctx, []domain.Event{
		ev("a", "old", now.Add(-10*day), now.Add(-10*day)),          // past the 7-day default
		ev("a", "imported", now.Add(-400*day), now.Add(-1*day)),     // old data, taken in yesterday: kept
		ev("a", "recent", now.Add(-time.Hour), now.Add(-time.Hour)), // kept
		ev("long", "old", now.Add(-10*day), now.Add(-10*day)),       // tenant "long" keeps 30 days
		ev("short", "recent", now.Add(-2*day), now.Add(-2*day)),     // tenant "short" keeps 1 day
	}))
	require.NoError(t, s.WriteSamples(ctx, []domain.Sample{
		{Tenant: "a", Name: "m", TimeUnixNano: now.Add(-10 * day).UnixNano(), Value: 1, SeriesID: 1, IngestedNano: now.Add(-10 * day).UnixNano()},
		{Tenant: "a", Name: "m", TimeUnixNano: now.UnixNano(), Value: 2, SeriesID: 1, IngestedNano: now.UnixNano()},
	}))
	require.NoError(t, s.PutDeadLetters(ctx, []domain.DeadLetter{
		{Tenant: "a", ID: "d-old", TimeUnixNano: now.Add(-10 * day).UnixNano(), Source: "x", Format: "json-events", Reason: "r"},
		{Tenant: "a", ID: "d-new", TimeUnixNano: now.UnixNano(), Source: "x", Format: "json-events", Reason: "r"},
	}))
	require.NoError(t, s.AppendAudit(ctx, []domain.AuditEntry{
		{Tenant: "a", ID: "au-old", TimeUnixNano: now.Add(-10 * day).UnixNano(), Actor: "x", Action: "y"},
		{Tenant: "a", ID: "au-new", TimeUnixNano: now.UnixNano(), Actor: "x", Action: "y"},
	}))

	n, err := s.Prune(ctx, storage.Retention{Default: 7 * day, Tenants: map[string]time.Duration{"long": 30 * day, "short": day}}, now)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n, "a's old event, sample, dead letter and audit entry, and short's event")

	names := func(tenant string) []string {
		rows, err := s.DB().Query("SELECT name FROM events WHERE tenant_id = ? ORDER BY name", tenant)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			out = append(out, n)
		}
		return out
	}
	assert.Equal(t, []string{"imported", "recent"}, names("a"))
	assert.Equal(t, []string{"old"}, names("long"))
	assert.Empty(t, names("short"))
	var samples, dls, audit int
	require.NoError(t, s.DB().QueryRow("SELECT count(*) FROM metric_samples").Scan(&samples))
	require.NoError(t, s.DB().QueryRow("SELECT count(*) FROM dead_letters").Scan(&dls))
	require.NoError(t, s.DB().QueryRow("SELECT count(*) FROM audit_log").Scan(&audit))
	assert.Equal(t, 1, samples)
	assert.Equal(t, 1, dls)
	assert.Equal(t, 1, audit)
}

// TestPruneInBatches: a prune deletes a batch of rows a transaction, until
// none is left past the retention.
func TestPruneInBatches(t *testing.T) {
	defer duckdb.SetPruneBatch(7)()
	ctx := context.Background()
	s, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "b.db")}, nil)
	require.NoError(t, err)
	defer s.Close()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var evs []domain.Event
	for i := 0; i < 50; i++ {
		taken := now.Add(-10 * 24 * time.Hour)
		if i%5 == 0 {
			taken = now
		}
		e := domain.Event{Tenant: "a", TimeUnixNano: taken.UnixNano() + int64(i), Kind: domain.KindEvent, Service: "s",
			Name: "e", Status: domain.StatusUnset, SampleRate: 1, IngestedNano: taken.UnixNano()}
		e.ID = e.ContentHash()
		evs = append(evs, e)
	}
	require.NoError(t, s.WriteEvents(ctx, evs))
	n, err := s.Prune(ctx, storage.Retention{Default: 7 * 24 * time.Hour}, now)
	require.NoError(t, err)
	assert.Equal(t, int64(40), n, "40 old events, 7 at a time")
	var left int
	require.NoError(t, s.DB().QueryRow("SELECT count(*) FROM events").Scan(&left))
	assert.Equal(t, 10, left)
}

// TestPruneReclaimsSpace: day after day of the same volume, each day's
// prune deleting what passed retention, keeps the database file from
// growing past the two days that live at once: the blocks the deleted
// rows held are reused while the process runs, with no restart.
func TestPruneReclaimsSpace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := duckdb.Open(ctx, duckdb.Config{Path: path}, nil)
	require.NoError(t, err)
	defer s.Close()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	write := func(d int) {
		taken := now.Add(-time.Duration(10-d) * day)
		for b := 0; b < 10; b++ {
			evs := make([]domain.Event, 0, 10_000)
			for i := 0; i < 10_000; i++ {
				e := domain.Event{Tenant: "t", TimeUnixNano: taken.UnixNano() + int64(b*10_000+i), Kind: domain.KindSpan, Service: "s",
					Name: fmt.Sprintf("day%d-%d-%d", d, b, i), Status: domain.StatusOK, SampleRate: 1, IngestedNano: taken.UnixNano(), DurationNano: int64(i)}
				e.Attrs.Put("user", fmt.Sprintf("user-%d-%d", d, i))
				e.ID = e.ContentHash()
				evs = append(evs, e)
			}
			require.NoError(t, s.WriteEvents(ctx, evs))
		}
		_, err := s.DB().Exec("CHECKPOINT")
		require.NoError(t, err)
	}
	size := func() int64 {
		st, err := os.Stat(path)
		require.NoError(t, err)
		return st.Size()
	}
	var first int64
	for d := 0; d < 6; d++ {
		write(d)
		if d == 0 {
			first = size()
		}
		// Retention of one day: each prune leaves only the day just written.
		_, err := s.Prune(ctx, storage.Retention{Default: time.Duration(10-d)*day + day/2}, now)
		require.NoError(t, err)
		t.Logf("day %d: %d KiB after its prune", d, size()>>10)
	}
	var n int
	require.NoError(t, s.DB().QueryRow("SELECT count(*) FROM events").Scan(&n))
	assert.Equal(t, 100_000, n, "one day's events left")
	// Two days live at once (the new one before the old one's prune):
	// without reuse six days written would be six days' size.
	assert.Less(t, size(), first*3, "six days written, the file stays near two days' size (one day is %d KiB)", first>>10)
}

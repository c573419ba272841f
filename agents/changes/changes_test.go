package changes_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/changes"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/duckdb"
)

func event(kind domain.Kind, service, name string, at time.Time, attrs ...string) domain.Event {
	e := domain.Event{Tenant: "t1", Kind: kind, Service: service, Name: name, TimeUnixNano: at.UnixNano(), SampleRate: 1, Status: domain.StatusUnset}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs.Put(attrs[i], attrs[i+1])
	}
	return e
}

// TestCorrelate: changes come from JSON events, OTLP log records with
// change.type and events named deploy, nearest to the onset first, none
// from after it; a log template new in the window and made of errors is
// told, one as frequent as before is not.
func TestCorrelate(t *testing.T) {
	ctx := context.Background()
	store, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	require.NoError(t, err)
	defer store.Close()
	onset := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	evs := []domain.Event{
		event(domain.KindLog, "cart", "config", onset.Add(-2*time.Minute), domain.ChangeTypeAttr, "config", "key", "cache.enabled"),
		event(domain.KindEvent, "payment", "deploy", onset.Add(-40*time.Minute), "version", "2.3.1", "previous_version", "2.3.0"),
		event(domain.KindEvent, "search", "flag", onset.Add(2*time.Minute), domain.ChangeTypeAttr, "feature_flag"),
		event(domain.KindEvent, "search", "signup", onset.Add(-time.Minute)), // an event, no change
	}
	for i := 0; i < 30; i++ {
		at := onset.Add(-30*time.Minute + time.Duration(i)*time.Minute)
		evs = append(evs, event(domain.KindLog, "api", "log", at))
		evs[len(evs)-1].Body = fmt.Sprintf("GET /items 200 %dms", 10+i)
	}
	for i := 0; i < 5; i++ {
		at := onset.Add(time.Duration(i) * 30 * time.Second)
		if i%2 == 0 { // once a minute, as before
			e := event(domain.KindLog, "api", "log", at)
			e.Body, e.Severity, e.Status = fmt.Sprintf("GET /items 200 %dms", 12+i), "INFO", domain.StatusUnset
			evs = append(evs, e)
		}
		e := event(domain.KindLog, "db", "log", at)
		e.Body, e.Severity, e.Status = fmt.Sprintf("connection to 10.0.0.%d:5432 refused", i+1), "ERROR", domain.StatusError
		evs = append(evs, e)
	}
	for i := range evs {
		evs[i].ID = evs[i].ContentHash()
	}
	require.NoError(t, store.WriteEvents(ctx, evs))
	in := changes.Input{Tenant: "t1", Onset: onset.UnixNano(),
		Window:   domain.TimeRange{Start: onset.UnixNano(), End: onset.Add(3 * time.Minute).UnixNano()},
		Baseline: domain.TimeRange{Start: onset.Add(-30 * time.Minute).UnixNano(), End: onset.UnixNano()}}
	res, err := changes.Correlate(ctx, store, in)
	require.NoError(t, err)
	require.Len(t, res.Changes, 3, "%+v", res.Changes)
	assert.Equal(t, "cart", res.Changes[0].Event.Service, "the nearest first")
	assert.Equal(t, "config", res.Changes[0].Type)
	assert.InDelta(t, 0.95, res.Changes[0].Strength, 0.01, "two minutes before")
	assert.Equal(t, "payment", res.Changes[1].Event.Service)
	assert.InDelta(t, 0.14, res.Changes[1].Strength, 0.02, "40 minutes before")
	assert.Contains(t, res.Changes[1].Text(), "deploy 2.3.1 (was 2.3.0), 40m0s before the onset")
	assert.Equal(t, 0.0, res.Changes[2].Strength, "after the onset it cannot have caused it")
	require.Len(t, res.Templates, 1, "%+v", res.Templates)
	tpl := res.Templates[0]
	assert.Equal(t, "db", tpl.Service)
	assert.Equal(t, "connection to <ip> refused", tpl.Template)
	assert.True(t, tpl.New)
	assert.True(t, tpl.Errors)

	// A window chosen by hand has no known onset: the flag flipped inside
	// it may be where the trouble began, and counts as if at the onset.
	in.Onset = 0
	res, err = changes.Correlate(ctx, store, in)
	require.NoError(t, err)
	require.Len(t, res.Changes, 3)
	assert.Equal(t, "search", res.Changes[0].Event.Service)
	assert.Equal(t, 1.0, res.Changes[0].Strength)
	assert.True(t, res.Changes[0].InWindow)
	assert.Contains(t, res.Changes[0].Text(), "inside the window (at ")
	assert.Equal(t, "cart", res.Changes[1].Event.Service, "before the window, timed from its start")
}

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

// TestStoppedLine: a line a service wrote for each request of one
// operation stops at the onset. Where the operation's requests went on,
// the stop is the service's own and is told with its operation; where
// they stopped too (its callers stopped calling), it is not told. A line
// whose share merely halved is not a stop.
func TestStoppedLine(t *testing.T) {
	for _, tc := range []struct {
		name        string
		callsGoOn   bool
		wantStopped bool
	}{
		{"requests go on", true, true},
		{"requests stop", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store, err := duckdb.Open(ctx, duckdb.Config{}, nil)
			require.NoError(t, err)
			defer store.Close()
			onset := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
			var evs []domain.Event
			n := 0
			add := func(at time.Time, op string, lines ...string) {
				n++
				span := event(domain.KindSpan, "price", op, at)
				span.TraceID, span.SpanID, span.DurationNano = fmt.Sprintf("%032x", n), fmt.Sprintf("%016x", n), int64(time.Millisecond)
				evs = append(evs, span)
				for _, l := range lines {
					e := event(domain.KindLog, "price", "log", at)
					e.TraceID, e.SpanID, e.Severity = span.TraceID, span.SpanID, "INFO"
					e.Body = fmt.Sprintf(l, n)
					evs = append(evs, e)
				}
			}
			// Ten requests a minute of each operation for 20 minutes.
			for i := 0; i < 200; i++ {
				at := onset.Add(-20*time.Minute + time.Duration(i)*6*time.Second)
				add(at, "GET /prices", "PriceController query prices for route %d", "PriceService found %d prices")
				add(at.Add(time.Second), "GET /health", "health check %d ok", "database ping %d answered", "cache %d warm")
			}
			// After the onset: the health checks go on; the price
			// queries go on without their first line (the request
			// leaves the code before it), or stop altogether.
			for i := 0; i < 30; i++ {
				at := onset.Add(time.Duration(i) * 6 * time.Second)
				add(at.Add(time.Second), "GET /health", "health check %d ok", "database ping %d answered", "cache %d warm")
				if tc.callsGoOn {
					add(at, "GET /prices", "PriceService found %d prices")
				}
			}
			for i := range evs {
				evs[i].ID = evs[i].ContentHash()
			}
			require.NoError(t, store.WriteEvents(ctx, evs))
			res, err := changes.Correlate(ctx, store, changes.Input{Tenant: "t1",
				Window:   domain.TimeRange{Start: onset.UnixNano(), End: onset.Add(3 * time.Minute).UnixNano()},
				Baseline: domain.TimeRange{Start: onset.Add(-20 * time.Minute).UnixNano(), End: onset.UnixNano()}})
			require.NoError(t, err)
			var stopped []changes.LogTemplate
			for _, tpl := range res.Templates {
				if tpl.Stopped {
					stopped = append(stopped, tpl)
				}
			}
			if !tc.wantStopped {
				assert.Empty(t, stopped, "the callers stopped calling: not the service's own")
				return
			}
			require.Len(t, stopped, 1, "%+v", res.Templates)
			s := stopped[0]
			assert.Equal(t, "price", s.Service)
			assert.Contains(t, s.Template, "PriceController query prices")
			assert.Equal(t, "GET /prices", s.Operation)
			assert.InDelta(t, 10, s.Before, 1, "ten a minute before")
			assert.Zero(t, s.Now)
			assert.InDelta(t, s.OpBefore, s.OpNow, 0.5*s.OpBefore, "the operation went on")
			assert.Greater(t, s.Strength, 0.5)
		})
	}
}

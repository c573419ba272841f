package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/clickhouse"
	"github.com/inquest/inquest/storage/storetest"
)

// TestPrune: on ClickHouse too, retention counts from when an event was
// taken in: an import of last year's data is kept, what was taken in long
// ago goes, a tenant's own retention before the default. On one server and
// through a cluster's Distributed table.
func TestPrune(t *testing.T) {
	addr, _ := storetest.StartClickHouse(t)
	for _, cluster := range []string{"", "inquest_test"} {
		t.Run("cluster="+cluster, func(t *testing.T) {
			ctx := context.Background()
			dsn := fmt.Sprintf("clickhouse://%s/inquest_prune_%d", addr, dbSeq.Add(1))
			s, err := clickhouse.Open(ctx, clickhouse.Config{DSN: dsn, Cluster: cluster, NoClusterDDL: true}, nil)
			require.NoError(t, err)
			defer s.Close()
			now := time.Now()
			day := 24 * time.Hour
			ev := func(tenant, name string, at, taken time.Time) domain.Event {
				e := storetest.Span(tenant, "s", name, at.UnixNano(), 1, domain.StatusOK)
				e.IngestedNano = taken.UnixNano()
				e.ID = e.ContentHash()
				return e
			}
			require.NoError(t, s.WriteEvents(ctx, []domain.Event{
				ev("a", "old", now.Add(-10*day), now.Add(-10*day)),
				ev("a", "imported", now.Add(-400*day), now.Add(-day)),
				ev("a", "recent", now.Add(-time.Hour), now.Add(-time.Hour)),
				ev("long", "old", now.Add(-10*day), now.Add(-10*day)),
				ev("short", "recent", now.Add(-2*day), now.Add(-2*day)),
			}))
			n, err := s.Prune(ctx, storage.Retention{Default: 7 * day, Tenants: map[string]time.Duration{"long": 30 * day, "short": day}}, now)
			require.NoError(t, err)
			assert.Equal(t, int64(2), n, "a's old event and short's")

			names := func() string {
				var out string
				rows, err := s.Conn().Query(ctx, "SELECT tenant_id, name FROM "+s.Database()+".events ORDER BY tenant_id, name")
				require.NoError(t, err)
				defer rows.Close()
				for rows.Next() {
					var tenant, name string
					require.NoError(t, rows.Scan(&tenant, &name))
					out += tenant + "/" + name + " "
				}
				return out
			}
			// A delete is a mutation, done in the background.
			want := "a/imported a/recent long/old "
			require.Eventually(t, func() bool { return names() == want }, 30*time.Second, 50*time.Millisecond, "left: %s", names())

			n, err = s.Prune(ctx, storage.Retention{Default: 7 * day}, now)
			require.NoError(t, err)
			assert.Equal(t, int64(1), n, "without its exception, long's 10-day-old event goes too")
		})
	}
}

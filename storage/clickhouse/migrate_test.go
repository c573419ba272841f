package clickhouse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func render(t *testing.T, p schemaParams) string {
	t.Helper()
	ms, err := loadMigrations(p)
	require.NoError(t, err)
	var all []string
	for i, m := range ms {
		assert.Equal(t, i+1, m.version, "migrations are numbered without gaps")
		all = append(all, m.statements...)
	}
	return strings.Join(all, ";\n")
}

func TestSchemaFollowsServerVersion(t *testing.T) {
	old := render(t, schemaParams{Features: FeaturesOf(18, 16), DB: "inquest", TTLDays: 7})
	for _, modern := range []string{"LowCardinality", "CODEC", "bloom_filter", "TTL", "deduplication_window", "ON CLUSTER", "Distributed"} {
		assert.NotContains(t, old, modern, "18.16 gets none of the modern options")
	}
	assert.Contains(t, old, "CREATE TABLE IF NOT EXISTS inquest.events (")

	modern := render(t, schemaParams{Features: FeaturesOf(24, 8), DB: "inquest", TTLDays: 7})
	for _, opt := range []string{"LowCardinality(String)", "CODEC(Delta, ZSTD(1))", "INDEX trace_id_bf trace_id TYPE bloom_filter",
		"TTL toDate(intDiv(ts, 1000000000)) + INTERVAL 7 DAY", "non_replicated_deduplication_window"} {
		assert.Contains(t, modern, opt)
	}
	noTTL := render(t, schemaParams{Features: FeaturesOf(24, 8), DB: "inquest"})
	assert.NotContains(t, noTTL, "TTL ", "no TTL unless configured")

	cluster := render(t, schemaParams{Features: FeaturesOf(24, 8), DB: "inquest", Cluster: "prod", Replicated: true})
	assert.Contains(t, cluster, "CREATE TABLE IF NOT EXISTS inquest.events_local ON CLUSTER prod (")
	assert.Contains(t, cluster, "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/inquest/events', '{replica}')")
	assert.Contains(t, cluster, "ENGINE = Distributed(prod, inquest, events_local, cityHash64(tenant_id, trace_id))")
	assert.Contains(t, cluster, "TO inquest.trace_index_local AS")
}

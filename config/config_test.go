package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	require.NoError(t, fs.Parse(args))
	return fs
}

// Flags beat INQUEST_* variables, which beat the YAML file, which beats the
// defaults.
func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "inquest.yaml")
	require.NoError(t, os.WriteFile(file, []byte("data-dir: /from/file\nbatch-size: 5\nretention: 48h\nwriters: 3\nallowed-origins: [\"https://a.example\"]\n"), 0o644))
	t.Setenv("INQUEST_BATCH_SIZE", "6")
	t.Setenv("INQUEST_WRITERS", "4")
	cfg, err := Load(flags(t, "--config", file, "--writers", "7"))
	require.NoError(t, err)
	assert.Equal(t, "/from/file", cfg.DataDir)
	assert.Equal(t, 6, cfg.BatchSize)
	assert.Equal(t, 7, cfg.Writers)
	assert.Equal(t, 48*time.Hour, cfg.Retention)
	assert.Equal(t, []string{"https://a.example"}, cfg.AllowedOrigins)
	assert.Equal(t, Default().HTTPAddr, cfg.HTTPAddr)
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(flags(t, "--config", "/no/such/file.yaml"))
	assert.ErrorContains(t, err, "/no/such/file.yaml")

	file := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(file, []byte("data-dri: typo\n"), 0o644))
	_, err = Load(flags(t, "--config", file))
	assert.ErrorContains(t, err, `unknown setting "data-dri"`)

	_, err = Load(flags(t, "--log-level", "loud", "--writers", "0"))
	assert.ErrorContains(t, err, "log-level")
	assert.ErrorContains(t, err, "writers")

	_, err = Load(flags(t, "--pprof-addr", "0.0.0.0:6060"))
	assert.ErrorContains(t, err, "pprof-addr 0.0.0.0:6060 must be a loopback address")
	_, err = Load(flags(t, "--pprof-addr", "localhost:6060"))
	assert.NoError(t, err)

	t.Setenv("INQUEST_RETENTION", "forever")
	_, err = Load(flags(t))
	assert.ErrorContains(t, err, "retention")
}

// The scaled-mode contract: each backend by flag, INQUEST_* variable or
// YAML key, and only what is named leaves the embedded store.
func TestScaledModeSettings(t *testing.T) {
	cfg, err := Load(flags(t, "--clickhouse-dsn", "clickhouse://127.0.0.1:9000/inquest"))
	require.NoError(t, err)
	assert.Equal(t, "clickhouse://127.0.0.1:9000/inquest", cfg.ClickHouseDSN)
	assert.Empty(t, cfg.VictoriaMetricsURL)
	assert.Empty(t, cfg.KafkaBrokers)
	assert.Equal(t, "all", cfg.Role)

	t.Setenv("INQUEST_CLICKHOUSE_DSN", "clickhouse://ch:9000/x")
	t.Setenv("INQUEST_VICTORIAMETRICS_URL", "http://vm:8428")
	t.Setenv("INQUEST_KAFKA_BROKERS", "k1:9092,k2:9092")
	t.Setenv("INQUEST_REDIS_URL", "redis://r:6379/0")
	t.Setenv("INQUEST_ROLE", "writer")
	cfg, err = Load(flags(t))
	require.NoError(t, err)
	assert.Equal(t, "clickhouse://ch:9000/x", cfg.ClickHouseDSN)
	assert.Equal(t, "http://vm:8428", cfg.VictoriaMetricsURL)
	assert.Equal(t, []string{"k1:9092", "k2:9092"}, cfg.KafkaBrokers)
	assert.Equal(t, "redis://r:6379/0", cfg.RedisURL)
	assert.Equal(t, "writer", cfg.Role)

	for _, k := range []string{"INQUEST_CLICKHOUSE_DSN", "INQUEST_VICTORIAMETRICS_URL", "INQUEST_KAFKA_BROKERS", "INQUEST_REDIS_URL", "INQUEST_ROLE"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
	_, err = Load(flags(t, "--role", "gateway"))
	assert.ErrorContains(t, err, "role gateway needs kafka-brokers")
	_, err = Load(flags(t, "--role", "reader"))
	assert.ErrorContains(t, err, `role "reader"`)
}

// The example configuration of deploy/ loads as it is.
func TestDeployExampleLoads(t *testing.T) {
	for _, name := range []string{"inquest.yaml", "gateway.yaml", "writer.yaml"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(flags(t, "--config", filepath.Join("..", "deploy", name)))
			require.NoError(t, err)
			assert.NotEmpty(t, cfg.ClickHouseDSN)
			assert.NotEmpty(t, cfg.VictoriaMetricsURL)
			assert.NotEmpty(t, cfg.KafkaBrokers)
			assert.NotEmpty(t, cfg.RedisURL)
		})
	}
}

func TestTenantRetention(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"--retention", "168h", "--tenant-retention", "acme=720h,globex=0h"}))
	cfg, err := Load(fs)
	require.NoError(t, err)
	r, err := cfg.Retentions()
	require.NoError(t, err)
	assert.Equal(t, 168*time.Hour, r.Default)
	assert.Equal(t, map[string]time.Duration{"acme": 720 * time.Hour, "globex": 0}, r.Tenants)

	fs = pflag.NewFlagSet("t", pflag.ContinueOnError)
	RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"--tenant-retention", "acme=forever"}))
	_, err = Load(fs)
	assert.ErrorContains(t, err, "tenant-retention acme=forever")
}

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

	t.Setenv("INQUEST_RETENTION", "forever")
	_, err = Load(flags(t))
	assert.ErrorContains(t, err, "retention")
}

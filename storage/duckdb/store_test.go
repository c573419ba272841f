package duckdb_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
	"github.com/inquest/inquest/storage/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store {
		s, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(t.TempDir(), "inquest.db")}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestSettingsConformance(t *testing.T) {
	storetest.RunSettings(t, func(t *testing.T) storage.SettingStore {
		s, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(t.TempDir(), "inquest.db")}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestFirstSeenOutlivesARestart: a key is first seen once until it
// expires, and the store reopened on the same file still knows it.
func TestFirstSeenOutlivesARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seen.db")
	st, err := duckdb.Open(ctx, duckdb.Config{Path: path}, nil)
	require.NoError(t, err)
	first, err := st.FirstSeen(ctx, "slack:v0=abc", time.Hour)
	require.NoError(t, err)
	assert.True(t, first)
	again, err := st.FirstSeen(ctx, "slack:v0=abc", time.Hour)
	require.NoError(t, err)
	assert.False(t, again, "a replay")
	short, err := st.FirstSeen(ctx, "slack:v0=short", time.Nanosecond)
	require.NoError(t, err)
	assert.True(t, short)
	require.NoError(t, st.Close())

	st, err = duckdb.Open(ctx, duckdb.Config{Path: path}, nil)
	require.NoError(t, err)
	defer st.Close()
	again, err = st.FirstSeen(ctx, "slack:v0=abc", time.Hour)
	require.NoError(t, err)
	assert.False(t, again, "still a replay after the restart")
	expired, err := st.FirstSeen(ctx, "slack:v0=short", time.Hour)
	require.NoError(t, err)
	assert.True(t, expired, "an expired key is new again")
}

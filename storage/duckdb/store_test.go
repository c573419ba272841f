package duckdb_test

import (
	"context"
	"path/filepath"
	"testing"

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

package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/inquest/inquest/storage"
)

var _ storage.SettingStore = (*Store)(nil)

// PutSetting stores a tenant's setting, replacing the one under key.
func (s *Store) PutSetting(ctx context.Context, tenant, key string, value []byte) error {
	if _, err := s.db.ExecContext(ctx, "INSERT OR REPLACE INTO settings (tenant_id, key, value, updated_ts) VALUES (?, ?, ?, ?)",
		tenant, key, string(value), time.Now().UnixNano()); err != nil {
		return fmt.Errorf("put setting %s: %w", key, err)
	}
	return nil
}

// Setting reads a tenant's setting or storage.ErrNotFound.
func (s *Store) Setting(ctx context.Context, tenant, key string) ([]byte, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM settings WHERE tenant_id = ? AND key = ?", tenant, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", key, err)
	}
	return []byte(v), nil
}

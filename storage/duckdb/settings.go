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

// FirstSeen records key for ttl and reports whether it was not recorded
// (and unexpired) before: the replay guard of signed requests, kept in the
// database so that a restart does not forget what it has seen. Expired
// keys are deleted as new ones come.
func (s *Store) FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	now := time.Now().UnixNano()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("seen: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "DELETE FROM seen WHERE expires_ts <= ?", now); err != nil {
		return false, fmt.Errorf("seen: %w", err)
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO seen (key, expires_ts) VALUES (?, ?) ON CONFLICT DO NOTHING", key, now+int64(ttl))
	if err != nil {
		return false, fmt.Errorf("seen: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("seen: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("seen: %w", err)
	}
	return n == 1, nil
}

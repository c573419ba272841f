package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

const apiKeyColumns = "tenant_id, id, name, role, secret_hash, created_by, created_at, COALESCE(last_used, 0), COALESCE(revoked_at, 0)"

func scanAPIKey(sc interface{ Scan(...any) error }) (domain.APIKey, error) {
	var k domain.APIKey
	err := sc.Scan(&k.Tenant, &k.ID, &k.Name, &k.Role, &k.SecretHash, &k.CreatedBy, &k.CreatedAtNano, &k.LastUsedAtNano, &k.RevokedAtNano)
	return k, err
}

// PutAPIKey stores a new key.
func (s *Store) PutAPIKey(ctx context.Context, k domain.APIKey) error {
	if k.Tenant == "" || k.ID == "" || len(k.SecretHash) == 0 {
		return fmt.Errorf("put api key: tenant, id and hash are required")
	}
	_, err := s.db.ExecContext(ctx, "INSERT INTO api_keys (tenant_id, id, name, role, secret_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		k.Tenant, k.ID, k.Name, k.Role, k.SecretHash, k.CreatedBy, k.CreatedAtNano)
	if err != nil {
		return fmt.Errorf("put api key: %w", err)
	}
	return nil
}

// APIKey looks a key up by its ID.
func (s *Store) APIKey(ctx context.Context, id string) (*domain.APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("api key: %w", err)
	}
	return &k, nil
}

// APIKeys lists a tenant's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, tenant string) ([]domain.APIKey, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = ? ORDER BY created_at DESC, id", tenant)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	defer rows.Close()
	var out []domain.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("api keys: scan: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey marks a tenant's key revoked.
func (s *Store) RevokeAPIKey(ctx context.Context, tenant, id string, atNano int64) error {
	res, err := s.db.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL", atNano, tenant, id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// TouchAPIKey records when a key was last used.
func (s *Store) TouchAPIKey(ctx context.Context, id string, atNano int64) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE api_keys SET last_used = ? WHERE id = ?", atNano, id); err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	return nil
}

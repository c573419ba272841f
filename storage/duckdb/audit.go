package duckdb

import (
	"context"
	"fmt"

	"github.com/inquest/inquest/domain"
)

// AppendAudit appends entries; nothing in this backend updates or deletes
// them.
func (s *Store) AppendAudit(ctx context.Context, entries []domain.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, e := range entries {
		if e.Tenant == "" {
			return fmt.Errorf("append audit: entry: %w", domain.ErrNoTenant)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO audit_log (tenant_id, id, ts, actor, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			e.Tenant, e.ID, e.TimeUnixNano, e.Actor, e.Action, e.Target, e.Outcome, e.Detail); err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
	}
	return tx.Commit()
}

// AuditLog lists a tenant's entries, newest first.
func (s *Store) AuditLog(ctx context.Context, tenant string, r domain.TimeRange, limit int) ([]domain.AuditEntry, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	if limit <= 0 || limit > domain.MaxPageSize {
		limit = domain.MaxPageSize
	}
	rows, err := s.db.QueryContext(ctx, `SELECT tenant_id, id, ts, actor, action, target, outcome, detail FROM audit_log
		WHERE tenant_id = ? AND ts >= ? AND ts < ? ORDER BY ts DESC, id LIMIT ?`, tenant, r.Start, r.End, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []domain.AuditEntry
	for rows.Next() {
		var e domain.AuditEntry
		if err := rows.Scan(&e.Tenant, &e.ID, &e.TimeUnixNano, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit log: scan: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

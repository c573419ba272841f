package duckdb

import (
	"context"
	"fmt"

	"github.com/inquest/inquest/domain"
)

// AddUsage adds counts to the stored hours in one transaction.
func (s *Store) AddUsage(ctx context.Context, hours []domain.UsageHour) error {
	if len(hours) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, h := range hours {
		if h.Tenant == "" {
			return fmt.Errorf("add usage: hour: %w", domain.ErrNoTenant)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO usage_hours (tenant_id, hour, events, bytes, queries) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, hour) DO UPDATE SET events = events + excluded.events,
			bytes = bytes + excluded.bytes, queries = queries + excluded.queries`,
			h.Tenant, h.HourNano, h.Events, h.Bytes, h.Queries); err != nil {
			return fmt.Errorf("add usage: %w", err)
		}
	}
	return tx.Commit()
}

// Usage lists a tenant's hours in the range.
func (s *Store) Usage(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.UsageHour, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT tenant_id, hour, events, bytes, queries FROM usage_hours WHERE tenant_id = ? AND hour >= ? AND hour < ? ORDER BY hour",
		tenant, r.Start, r.End)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	var out []domain.UsageHour
	for rows.Next() {
		var h domain.UsageHour
		if err := rows.Scan(&h.Tenant, &h.HourNano, &h.Events, &h.Bytes, &h.Queries); err != nil {
			return nil, fmt.Errorf("usage: scan: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

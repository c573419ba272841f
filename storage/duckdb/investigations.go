package duckdb

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/inquest/inquest/domain"
)

// CreateInvestigation inserts an investigation unless its tenant and ID
// are taken.
func (s *Store) CreateInvestigation(ctx context.Context, inv domain.Investigation) (bool, error) {
	body, err := investigationBody(inv)
	if err != nil {
		return false, err
	}
	s.casMu.Lock()
	defer s.casMu.Unlock()
	res, err := s.db.ExecContext(ctx, "INSERT INTO investigations (tenant_id, id, incident_id, status, started_ts, body) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		inv.Tenant, inv.ID, inv.IncidentID, inv.Status, inv.StartedNano, body)
	if err != nil {
		return false, fmt.Errorf("create investigation: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("create investigation: %w", err)
	}
	return n == 1, nil
}

// PutInvestigation inserts or replaces an investigation.
func (s *Store) PutInvestigation(ctx context.Context, inv domain.Investigation) error {
	body, err := investigationBody(inv)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "INSERT OR REPLACE INTO investigations (tenant_id, id, incident_id, status, started_ts, body) VALUES (?, ?, ?, ?, ?, ?)",
		inv.Tenant, inv.ID, inv.IncidentID, inv.Status, inv.StartedNano, body); err != nil {
		return fmt.Errorf("put investigation: %w", err)
	}
	return nil
}

func investigationBody(inv domain.Investigation) (string, error) {
	if inv.Tenant == "" || inv.ID == "" {
		return "", fmt.Errorf("investigation: %w, or no id", domain.ErrNoTenant)
	}
	b, err := json.Marshal(inv)
	if err != nil {
		return "", fmt.Errorf("investigation %s: %w", inv.ID, err)
	}
	return string(b), nil
}

// Investigation returns one investigation.
func (s *Store) Investigation(ctx context.Context, tenant, id string) (*domain.Investigation, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	return document[domain.Investigation](ctx, s.db, "investigation", "SELECT body FROM investigations WHERE tenant_id = ? AND id = ?", tenant, id)
}

// Investigations lists those started in the range, newest first.
func (s *Store) Investigations(ctx context.Context, tenant string, r domain.TimeRange, incidentID string, limit int) ([]domain.Investigation, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	if limit <= 0 || limit > domain.MaxPageSize {
		limit = domain.MaxPageSize
	}
	q := "SELECT body FROM investigations WHERE tenant_id = ? AND started_ts >= ? AND started_ts < ?"
	args := []any{tenant, r.Start, r.End}
	if incidentID != "" {
		q += " AND incident_id = ?"
		args = append(args, incidentID)
	}
	q += " ORDER BY started_ts DESC, id LIMIT ?"
	return s.investigations(ctx, q, append(args, limit)...)
}

// RunningInvestigations lists every tenant's running investigations.
func (s *Store) RunningInvestigations(ctx context.Context) ([]domain.Investigation, error) {
	return s.investigations(ctx, "SELECT body FROM investigations WHERE status = ? ORDER BY tenant_id, started_ts, id", domain.InvestigationRunning)
}

func (s *Store) investigations(ctx context.Context, q string, args ...any) ([]domain.Investigation, error) {
	return documents[domain.Investigation](ctx, s.db, "investigations", q, args...)
}

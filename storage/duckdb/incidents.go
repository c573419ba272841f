package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

const anomalyColumns = `tenant_id, id, series, service, operation, signal, start_ts, end_ts, severity, score, expected,
	observed, lower_bound, upper_bound, detector, explanation, incident_id`

// PutAnomalies inserts or replaces anomalies by tenant and ID.
func (s *Store) PutAnomalies(ctx context.Context, as []domain.Anomaly) error {
	if len(as) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put anomalies: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, a := range as {
		if a.Tenant == "" || a.ID == "" {
			return fmt.Errorf("put anomalies: anomaly: %w, or no id", domain.ErrNoTenant)
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO anomalies ("+anomalyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			a.Tenant, a.ID, a.Series, a.Service, a.Operation, a.Signal, a.StartNano, a.EndNano, a.Severity, a.Score, a.Expected,
			a.Observed, a.Lower, a.Upper, a.Detector, a.Explanation, a.IncidentID); err != nil {
			return fmt.Errorf("put anomalies: %w", err)
		}
	}
	return tx.Commit()
}

// Anomalies lists anomalies overlapping the range, newest first.
func (s *Store) Anomalies(ctx context.Context, tenant string, r domain.TimeRange, service string, limit int) ([]domain.Anomaly, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	if limit <= 0 || limit > domain.MaxPageSize {
		limit = domain.MaxPageSize
	}
	q := "SELECT " + anomalyColumns + " FROM anomalies WHERE tenant_id = ? AND start_ts < ? AND (end_ts = 0 OR end_ts >= ?)"
	args := []any{tenant, r.End, r.Start}
	if service != "" {
		q += " AND service = ?"
		args = append(args, service)
	}
	q += " ORDER BY start_ts DESC, id LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("anomalies: %w", err)
	}
	defer rows.Close()
	var out []domain.Anomaly
	for rows.Next() {
		var a domain.Anomaly
		if err := rows.Scan(&a.Tenant, &a.ID, &a.Series, &a.Service, &a.Operation, &a.Signal, &a.StartNano, &a.EndNano, &a.Severity,
			&a.Score, &a.Expected, &a.Observed, &a.Lower, &a.Upper, &a.Detector, &a.Explanation, &a.IncidentID); err != nil {
			return nil, fmt.Errorf("anomalies: scan: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Anomaly returns one anomaly.
func (s *Store) Anomaly(ctx context.Context, tenant, id string) (*domain.Anomaly, error) {
	var a domain.Anomaly
	err := s.db.QueryRowContext(ctx, "SELECT "+anomalyColumns+" FROM anomalies WHERE tenant_id = ? AND id = ?", tenant, id).Scan(
		&a.Tenant, &a.ID, &a.Series, &a.Service, &a.Operation, &a.Signal, &a.StartNano, &a.EndNano, &a.Severity,
		&a.Score, &a.Expected, &a.Observed, &a.Lower, &a.Upper, &a.Detector, &a.Explanation, &a.IncidentID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("anomaly: %w", err)
	}
	return &a, nil
}

const incidentColumns = `tenant_id, id, title, severity, status, services, anomaly_ids, opened_ts, updated_ts, resolved_ts,
	acknowledged_by, timeline, version`

// PutIncident inserts or replaces an incident by tenant and ID.
func (s *Store) PutIncident(ctx context.Context, in domain.Incident) error {
	if in.Tenant == "" || in.ID == "" {
		return fmt.Errorf("put incident: incident: %w, or no id", domain.ErrNoTenant)
	}
	tl, err := json.Marshal(in.Timeline)
	if err != nil {
		return fmt.Errorf("put incident: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, "INSERT OR REPLACE INTO incidents ("+incidentColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		in.Tenant, in.ID, in.Title, in.Severity, in.Status, strs(in.Services), strs(in.AnomalyIDs), in.OpenedNano, in.UpdatedNano,
		in.ResolvedNano, in.AcknowledgedBy, string(tl), in.Version); err != nil {
		return fmt.Errorf("put incident: %w", err)
	}
	return nil
}

// UpdateIncident is a compare-and-set on the incident's version. The
// store's own lock makes the read and the write one step in this process,
// which is the only one writing the embedded file.
func (s *Store) UpdateIncident(ctx context.Context, in domain.Incident, version int64) error {
	if in.Tenant == "" || in.ID == "" {
		return fmt.Errorf("update incident: incident: %w, or no id", domain.ErrNoTenant)
	}
	s.casMu.Lock()
	defer s.casMu.Unlock()
	var stored int64
	err := s.db.QueryRowContext(ctx, "SELECT version FROM incidents WHERE tenant_id = ? AND id = ?", in.Tenant, in.ID).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if version != 0 {
			return storage.ErrConflict
		}
	case err != nil:
		return fmt.Errorf("update incident: %w", err)
	case stored != version:
		return storage.ErrConflict
	}
	in.Version = version + 1
	return s.PutIncident(ctx, in)
}

// OpenIncidents lists every tenant's unresolved incidents.
func (s *Store) OpenIncidents(ctx context.Context) ([]domain.Incident, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+incidentColumns+" FROM incidents WHERE status != ? ORDER BY tenant_id, opened_ts, id",
		domain.IncidentResolved)
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	defer rows.Close()
	var out []domain.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("open incidents: scan: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

func scanIncident(rows interface{ Scan(...any) error }) (domain.Incident, error) {
	var (
		in        domain.Incident
		svcs, ids duckdb.Composite[[]string]
		tl        string
	)
	if err := rows.Scan(&in.Tenant, &in.ID, &in.Title, &in.Severity, &in.Status, &svcs, &ids, &in.OpenedNano, &in.UpdatedNano,
		&in.ResolvedNano, &in.AcknowledgedBy, &tl, &in.Version); err != nil {
		return in, err
	}
	in.Services, in.AnomalyIDs = svcs.Get(), ids.Get()
	if err := json.Unmarshal([]byte(tl), &in.Timeline); err != nil {
		return in, fmt.Errorf("incident %s timeline: %w", in.ID, err)
	}
	return in, nil
}

// Incidents lists incidents open at some time in the range, newest first.
func (s *Store) Incidents(ctx context.Context, tenant string, r domain.TimeRange, status string) ([]domain.Incident, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	q := "SELECT " + incidentColumns + " FROM incidents WHERE tenant_id = ? AND opened_ts < ? AND (resolved_ts = 0 OR resolved_ts >= ?)"
	args := []any{tenant, r.End, r.Start}
	if status != "" {
		q += " AND status = ?"
		args = append(args, status)
	}
	q += " ORDER BY opened_ts DESC, id LIMIT 1000"
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	defer rows.Close()
	var out []domain.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("incidents: scan: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// Incident returns one incident.
func (s *Store) Incident(ctx context.Context, tenant, id string) (*domain.Incident, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	row := s.db.QueryRowContext(ctx, "SELECT "+incidentColumns+" FROM incidents WHERE tenant_id = ? AND id = ?", tenant, id)
	in, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	return &in, nil
}

const ruleColumns = `tenant_id, id, name, kind, service, operation, signal, op, value, for_ns, objective, created_by, created_at`

// PutRule inserts or replaces a rule.
func (s *Store) PutRule(ctx context.Context, r domain.Rule) error {
	if r.Tenant == "" || r.ID == "" {
		return fmt.Errorf("put rule: rule: %w, or no id", domain.ErrNoTenant)
	}
	if _, err := s.db.ExecContext(ctx, "INSERT OR REPLACE INTO rules ("+ruleColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		r.Tenant, r.ID, r.Name, r.Kind, r.Service, r.Operation, r.Signal, r.Op, r.Value, r.ForNano, r.Objective, r.CreatedBy, r.CreatedNano); err != nil {
		return fmt.Errorf("put rule: %w", err)
	}
	return nil
}

// Rules lists a tenant's rules ("*": all tenants'), oldest first.
func (s *Store) Rules(ctx context.Context, tenant string) ([]domain.Rule, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	q, args := "SELECT "+ruleColumns+" FROM rules WHERE tenant_id = ? ORDER BY created_at, id", []any{tenant}
	if tenant == "*" {
		q, args = "SELECT "+ruleColumns+" FROM rules ORDER BY tenant_id, created_at, id", nil
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer rows.Close()
	var out []domain.Rule
	for rows.Next() {
		var r domain.Rule
		if err := rows.Scan(&r.Tenant, &r.ID, &r.Name, &r.Kind, &r.Service, &r.Operation, &r.Signal, &r.Op, &r.Value, &r.ForNano,
			&r.Objective, &r.CreatedBy, &r.CreatedNano); err != nil {
			return nil, fmt.Errorf("rules: scan: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteRule removes a tenant's rule, or returns ErrNotFound.
func (s *Store) DeleteRule(ctx context.Context, tenant, id string) error {
	if tenant == "" || tenant == "*" {
		return fmt.Errorf("delete rule: %w", domain.ErrNoTenant)
	}
	res, err := s.db.ExecContext(ctx, "DELETE FROM rules WHERE tenant_id = ? AND id = ?", tenant, id)
	if err != nil {
		return fmt.Errorf("delete rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

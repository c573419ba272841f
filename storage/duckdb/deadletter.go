package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// PutDeadLetters stores refused records.
func (s *Store) PutDeadLetters(ctx context.Context, dls []domain.DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put dead letters: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO dead_letters (tenant_id, id, ts, source, format, reason, payload) VALUES (?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return fmt.Errorf("put dead letters: %w", err)
	}
	defer stmt.Close()
	for _, d := range dls {
		if d.Tenant == "" {
			return fmt.Errorf("put dead letters: record: %w", domain.ErrNoTenant)
		}
		if _, err := stmt.ExecContext(ctx, d.Tenant, d.ID, d.TimeUnixNano, d.Source, d.Format, d.Reason, d.Payload); err != nil {
			return fmt.Errorf("put dead letters: %w", err)
		}
	}
	return tx.Commit()
}

const deadLetterColumns = "tenant_id, id, ts, source, format, reason, payload, COALESCE(replayed_at, 0)"

func scanDeadLetter(sc interface{ Scan(...any) error }) (domain.DeadLetter, error) {
	var d domain.DeadLetter
	err := sc.Scan(&d.Tenant, &d.ID, &d.TimeUnixNano, &d.Source, &d.Format, &d.Reason, &d.Payload, &d.ReplayedAtNano)
	return d, err
}

// DeadLetters lists refused records, newest first; replayed ones only when
// asked.
func (s *Store) DeadLetters(ctx context.Context, tenant string, r domain.TimeRange, limit int, replayed bool) ([]domain.DeadLetter, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	if limit <= 0 || limit > domain.MaxPageSize {
		limit = domain.MaxPageSize
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+deadLetterColumns+" FROM dead_letters WHERE tenant_id = ? AND ts >= ? AND ts < ? AND (? OR replayed_at IS NULL) ORDER BY ts DESC, id LIMIT ?",
		tenant, r.Start, r.End, replayed, limit)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	defer rows.Close()
	var out []domain.DeadLetter
	for rows.Next() {
		d, err := scanDeadLetter(rows)
		if err != nil {
			return nil, fmt.Errorf("dead letters: scan: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeadLetter fetches one refused record.
func (s *Store) DeadLetter(ctx context.Context, tenant, id string) (*domain.DeadLetter, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	d, err := scanDeadLetter(s.db.QueryRowContext(ctx, "SELECT "+deadLetterColumns+" FROM dead_letters WHERE tenant_id = ? AND id = ?", tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dead letter: %w", err)
	}
	return &d, nil
}

// MarkReplayed records that a dead letter was replayed successfully.
func (s *Store) MarkReplayed(ctx context.Context, tenant, id string, atNano int64) error {
	res, err := s.db.ExecContext(ctx, "UPDATE dead_letters SET replayed_at = ? WHERE tenant_id = ? AND id = ?", atNano, tenant, id)
	if err != nil {
		return fmt.Errorf("mark replayed: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

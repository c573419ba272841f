package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

func proposalBody(p domain.Proposal) (string, error) {
	if p.Tenant == "" || p.ID == "" {
		return "", fmt.Errorf("proposal: %w, or no id", domain.ErrNoTenant)
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// CreateProposal inserts a proposal unless its tenant and ID are taken.
func (s *Store) CreateProposal(ctx context.Context, p domain.Proposal) (bool, error) {
	body, err := proposalBody(p)
	if err != nil {
		return false, err
	}
	s.casMu.Lock()
	defer s.casMu.Unlock()
	res, err := s.db.ExecContext(ctx, "INSERT INTO proposals (tenant_id, id, incident_id, investigation_id, status, proposed_ts, version, body) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", p.Tenant, p.ID, p.IncidentID, p.InvestigationID, p.Status, p.ProposedNano, p.Version, body)
	if err != nil {
		return false, fmt.Errorf("create proposal: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UpdateProposal is a compare-and-set on the proposal's version; the
// store's lock makes the read and the write one step in this process,
// the only one writing the embedded file.
func (s *Store) UpdateProposal(ctx context.Context, p domain.Proposal, version int64) error {
	s.casMu.Lock()
	defer s.casMu.Unlock()
	var stored int64
	err := s.db.QueryRowContext(ctx, "SELECT version FROM proposals WHERE tenant_id = ? AND id = ?", p.Tenant, p.ID).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return storage.ErrNotFound
	case err != nil:
		return fmt.Errorf("update proposal: %w", err)
	case stored != version:
		return storage.ErrConflict
	}
	p.Version = version + 1
	body, err := proposalBody(p)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE proposals SET status = ?, version = ?, body = ? WHERE tenant_id = ? AND id = ?",
		p.Status, p.Version, body, p.Tenant, p.ID); err != nil {
		return fmt.Errorf("update proposal: %w", err)
	}
	return nil
}

// Proposal returns one proposal.
func (s *Store) Proposal(ctx context.Context, tenant, id string) (*domain.Proposal, error) {
	return document[domain.Proposal](ctx, s.db, "proposal", "SELECT body FROM proposals WHERE tenant_id = ? AND id = ?", tenant, id)
}

// Proposals lists those proposed in the range, newest first.
func (s *Store) Proposals(ctx context.Context, tenant string, r domain.TimeRange, incidentID, investigationID string, limit int) ([]domain.Proposal, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	if limit <= 0 || limit > domain.MaxPageSize {
		limit = domain.MaxPageSize
	}
	q := "SELECT body FROM proposals WHERE tenant_id = ? AND proposed_ts >= ? AND proposed_ts < ?"
	args := []any{tenant, r.Start, r.End}
	if incidentID != "" {
		q += " AND incident_id = ?"
		args = append(args, incidentID)
	}
	if investigationID != "" {
		q += " AND investigation_id = ?"
		args = append(args, investigationID)
	}
	q += " ORDER BY proposed_ts DESC, id LIMIT ?"
	return s.proposals(ctx, q, append(args, limit)...)
}

// OpenProposals lists every tenant's proposals still in motion.
func (s *Store) OpenProposals(ctx context.Context) ([]domain.Proposal, error) {
	return s.proposals(ctx, "SELECT body FROM proposals WHERE status IN (?, ?, ?) ORDER BY tenant_id, proposed_ts, id",
		domain.ProposalPending, domain.ProposalApproved, domain.ProposalExecuting)
}

func (s *Store) proposals(ctx context.Context, q string, args ...any) ([]domain.Proposal, error) {
	return documents[domain.Proposal](ctx, s.db, "proposals", q, args...)
}

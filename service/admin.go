package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/storage"
)

// APIKeys lists the tenant's API keys, revoked ones included.
func (s *Service) APIKeys(ctx context.Context, p Principal) ([]domain.APIKey, error) {
	if err := s.allow(ctx, p, "apiKeys"); err != nil {
		return nil, err
	}
	return s.d.APIKeys.APIKeys(ctx, p.Tenant)
}

// CreatedAPIKey is a new key and its secret, which is shown this once.
type CreatedAPIKey struct {
	Key    domain.APIKey
	Secret string
}

// CreateAPIKey makes a key for the caller's tenant; only a hash of its
// secret is kept.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, name string, role auth.Role) (*CreatedAPIKey, error) {
	if err := s.allow(ctx, p, "createAPIKey"); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return nil, Invalid("name must be 1 to 100 characters")
	}
	if !role.Valid() {
		return nil, Invalid("role %q: want viewer, responder, approver or admin", role)
	}
	secret, id, hash := auth.NewAPIKey()
	rec := domain.APIKey{Tenant: p.Tenant, ID: id, Name: name, Role: string(role), SecretHash: hash,
		CreatedBy: p.Subject, CreatedAtNano: s.cfg.Now().UnixNano()}
	if err := s.d.APIKeys.PutAPIKey(ctx, rec); err != nil {
		return nil, err
	}
	s.audit(ctx, p, "api_key.create", id, "ok", fmt.Sprintf("name %q, role %s", name, rec.Role))
	return &CreatedAPIKey{Key: rec, Secret: secret}, nil
}

// RevokeAPIKey revokes a key of the tenant at once.
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, id string) (*domain.APIKey, error) {
	if err := s.allow(ctx, p, "revokeAPIKey"); err != nil {
		return nil, err
	}
	err := s.d.APIKeys.RevokeAPIKey(ctx, p.Tenant, id, s.cfg.Now().UnixNano())
	if err != nil {
		return nil, fromStore(err, named("API key", id)+" (or already revoked)")
	}
	if s.d.OnRevoke != nil {
		s.d.OnRevoke(id)
	}
	s.audit(ctx, p, "api_key.revoke", id, "ok", "")
	return s.d.APIKeys.APIKey(ctx, id)
}

// Usage is the tenant's usage per hour.
func (s *Service) Usage(ctx context.Context, p Principal, r Range) ([]domain.UsageHour, error) {
	if err := s.allow(ctx, p, "usage"); err != nil {
		return nil, err
	}
	if s.d.Usage == nil {
		return nil, Unavailable("this process meters no usage")
	}
	tr, err := s.timeRange(&r)
	if err != nil {
		return nil, err
	}
	hours, err := s.d.Usage.Usage(ctx, p.Tenant, tr)
	return hours, fromStore(err, "")
}

// page starts a listing: the role check, the range and the page size
// (100 unless asked).
func (s *Service) page(ctx context.Context, p Principal, op string, r Range, limit *int) (domain.TimeRange, int, error) {
	if err := s.allow(ctx, p, op); err != nil {
		return domain.TimeRange{}, 0, err
	}
	tr, err := s.timeRange(&r)
	if err != nil {
		return tr, 0, err
	}
	n, err := pageSize("limit", limit, 100)
	return tr, n, err
}

// AuditLog lists the tenant's audit entries, newest first.
func (s *Service) AuditLog(ctx context.Context, p Principal, r Range, limit *int) ([]domain.AuditEntry, error) {
	tr, n, err := s.page(ctx, p, "auditLog", r, limit)
	if err != nil {
		return nil, err
	}
	return s.d.Audit.AuditLog(ctx, p.Tenant, tr, n)
}

// DeadLetters lists refused records of the range, newest first: those still
// to fix, and with replayed those already replayed too.
func (s *Service) DeadLetters(ctx context.Context, p Principal, r Range, limit *int, replayed bool) ([]domain.DeadLetter, error) {
	tr, n, err := s.page(ctx, p, "deadLetters", r, limit)
	if err != nil {
		return nil, err
	}
	return s.d.DeadLetters.DeadLetters(ctx, p.Tenant, tr, n, replayed)
}

// ReplayDeadLetter decodes a dead letter again and ingests it, keeping its
// timestamps.
func (s *Service) ReplayDeadLetter(ctx context.Context, p Principal, id string) (*ingest.Result, error) {
	if err := s.allow(ctx, p, "replayDeadLetter"); err != nil {
		return nil, err
	}
	res, err := s.d.Pipeline.Replay(ctx, p.Tenant, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, fromStore(err, named("dead letter", id))
	case errors.Is(err, ingest.ErrReplayed):
		return nil, Conflict("%v", err)
	case errors.Is(err, ingest.ErrNotReplayable):
		return nil, invalid(err)
	case errors.Is(err, ingest.ErrFull):
		return nil, Unavailable("ingest queue is full: try again shortly")
	case err != nil:
		return nil, err
	}
	s.audit(ctx, p, "dead_letter.replay", id, "ok", fmt.Sprintf("%d accepted, %d rejected", res.Accepted, res.Rejected))
	return res, nil
}

package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// Proposals is a storage.ProposalStore on Redis: each proposal a versioned
// JSON document changed by compare-and-set in one script, so that two
// approvals landing on two replicas make one change.
type Proposals struct {
	c      *redis.Client
	prefix string
}

var _ storage.ProposalStore = (*Proposals)(nil)

// NewProposals keeps proposals under prefix (such as "inquest:").
func NewProposals(c *redis.Client, prefix string) *Proposals {
	return &Proposals{c: c, prefix: prefix + "{prop}:"}
}

func (s *Proposals) key(tenant, id string) string { return s.prefix + "p:" + tenant + ":" + id }
func (s *Proposals) index(tenant string) string   { return s.prefix + "ps:" + tenant }
func (s *Proposals) openSet() string              { return s.prefix + "open" }

func open(status string) string {
	switch status {
	case domain.ProposalPending, domain.ProposalApproved, domain.ProposalExecuting:
		return "1"
	}
	return "0"
}

func (s *Proposals) write(ctx context.Context, p domain.Proposal, expect string) (bool, error) {
	if p.Tenant == "" || p.ID == "" {
		return false, fmt.Errorf("proposal: %w, or no id", domain.ErrNoTenant)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	ok, err := casDoc.Run(ctx, s.c, []string{s.key(p.Tenant, p.ID), s.index(p.Tenant), s.openSet()},
		expect, strconv.FormatInt(p.Version, 10), b, p.ProposedNano, p.ID, open(p.Status), p.Tenant+"/"+p.ID).Int()
	return ok == 1, err
}

// CreateProposal stores p unless its key is taken.
func (s *Proposals) CreateProposal(ctx context.Context, p domain.Proposal) (bool, error) {
	ok, err := s.write(ctx, p, "new")
	if err != nil {
		return false, fmt.Errorf("create proposal: %w", err)
	}
	return ok, nil
}

// UpdateProposal is a compare-and-set on the proposal's version.
func (s *Proposals) UpdateProposal(ctx context.Context, p domain.Proposal, version int64) error {
	if exists, err := s.c.Exists(ctx, s.key(p.Tenant, p.ID)).Result(); err != nil {
		return fmt.Errorf("update proposal: %w", err)
	} else if exists == 0 {
		return storage.ErrNotFound
	}
	p.Version = version + 1
	ok, err := s.write(ctx, p, strconv.FormatInt(version, 10))
	if err != nil {
		return fmt.Errorf("update proposal: %w", err)
	}
	if !ok {
		return storage.ErrConflict
	}
	return nil
}

// Proposal returns one proposal.
func (s *Proposals) Proposal(ctx context.Context, tenant, id string) (*domain.Proposal, error) {
	b, err := s.c.HGet(ctx, s.key(tenant, id), "j").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("proposal: %w", err)
	}
	var p domain.Proposal
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("proposal %s: %w", id, err)
	}
	return &p, nil
}

// Proposals lists those proposed in the range, newest first.
func (s *Proposals) Proposals(ctx context.Context, tenant string, r domain.TimeRange, incidentID, investigationID string, limit int) ([]domain.Proposal, error) {
	if limit <= 0 || limit > domain.MaxPageSize {
		limit = domain.MaxPageSize
	}
	ids, err := s.c.ZRevRangeByScore(ctx, s.index(tenant), &redis.ZRangeBy{
		Min: strconv.FormatInt(r.Start, 10), Max: "(" + strconv.FormatInt(r.End, 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("proposals: %w", err)
	}
	var out []domain.Proposal
	for _, id := range ids {
		p, err := s.Proposal(ctx, tenant, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if (incidentID == "" || p.IncidentID == incidentID) && (investigationID == "" || p.InvestigationID == investigationID) {
			out = append(out, *p)
		}
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// OpenProposals lists every tenant's proposals still in motion.
func (s *Proposals) OpenProposals(ctx context.Context) ([]domain.Proposal, error) {
	members, err := s.c.SMembers(ctx, s.openSet()).Result()
	if err != nil {
		return nil, fmt.Errorf("open proposals: %w", err)
	}
	var out []domain.Proposal
	for _, m := range members {
		tenant, id, ok := strings.Cut(m, "/")
		if !ok {
			continue
		}
		p, err := s.Proposal(ctx, tenant, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, nil
}

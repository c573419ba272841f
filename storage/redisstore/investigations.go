package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// Investigations is a storage.InvestigationStore on Redis: each one a JSON
// value, indexed per tenant by start time and per incident, with a set of
// the running ones.
type Investigations struct {
	c      *redis.Client
	prefix string
}

var _ storage.InvestigationStore = (*Investigations)(nil)

// NewInvestigations keeps investigations under prefix (such as "inquest:").
func NewInvestigations(c *redis.Client, prefix string) *Investigations {
	return &Investigations{c: c, prefix: prefix + "{inv}:"}
}

func (s *Investigations) key(tenant, id string) string { return s.prefix + "inv:" + tenant + ":" + id }
func (s *Investigations) index(tenant string) string   { return s.prefix + "invs:" + tenant }
func (s *Investigations) byIncident(tenant, incident string) string {
	return s.prefix + "incident:" + tenant + ":" + incident
}
func (s *Investigations) running() string { return s.prefix + "running" }

// CreateInvestigation stores inv unless its key is taken (SET NX).
func (s *Investigations) CreateInvestigation(ctx context.Context, inv domain.Investigation) (bool, error) {
	b, err := body(inv)
	if err != nil {
		return false, err
	}
	ok, err := s.c.SetNX(ctx, s.key(inv.Tenant, inv.ID), b, 0).Result()
	if err != nil || !ok {
		return false, wrap("create investigation", err)
	}
	return true, wrap("create investigation", s.index1(ctx, inv))
}

// PutInvestigation replaces a stored investigation.
func (s *Investigations) PutInvestigation(ctx context.Context, inv domain.Investigation) error {
	b, err := body(inv)
	if err != nil {
		return err
	}
	if err := s.c.Set(ctx, s.key(inv.Tenant, inv.ID), b, 0).Err(); err != nil {
		return wrap("put investigation", err)
	}
	return wrap("put investigation", s.index1(ctx, inv))
}

func (s *Investigations) index1(ctx context.Context, inv domain.Investigation) error {
	pipe := s.c.TxPipeline()
	z := redis.Z{Score: float64(inv.StartedNano), Member: inv.ID}
	pipe.ZAdd(ctx, s.index(inv.Tenant), z)
	if inv.IncidentID != "" {
		pipe.ZAdd(ctx, s.byIncident(inv.Tenant, inv.IncidentID), z)
	}
	member := inv.Tenant + "\x00" + inv.ID
	if inv.Status == domain.InvestigationRunning {
		pipe.SAdd(ctx, s.running(), member)
	} else {
		pipe.SRem(ctx, s.running(), member)
	}
	_, err := pipe.Exec(ctx)
	return err
}

func body(inv domain.Investigation) ([]byte, error) {
	if inv.Tenant == "" || inv.ID == "" {
		return nil, fmt.Errorf("investigation: %w, or no id", domain.ErrNoTenant)
	}
	return json.Marshal(inv)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Investigation returns one investigation.
func (s *Investigations) Investigation(ctx context.Context, tenant, id string) (*domain.Investigation, error) {
	b, err := s.c.Get(ctx, s.key(tenant, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, wrap("investigation", err)
	}
	var inv domain.Investigation
	if err := json.Unmarshal(b, &inv); err != nil {
		return nil, fmt.Errorf("investigation %s: %w", id, err)
	}
	return &inv, nil
}

// Investigations lists those started in the range, newest first.
func (s *Investigations) Investigations(ctx context.Context, tenant string, r domain.TimeRange, incidentID string, limit int) ([]domain.Investigation, error) {
	if limit <= 0 || limit > domain.MaxPageSize {
		limit = domain.MaxPageSize
	}
	idx := s.index(tenant)
	if incidentID != "" {
		idx = s.byIncident(tenant, incidentID)
	}
	ids, err := s.c.ZRevRangeByScore(ctx, idx, &redis.ZRangeBy{
		Min: strconv.FormatInt(r.Start, 10), Max: "(" + strconv.FormatInt(r.End, 10), Count: int64(limit)}).Result()
	if err != nil {
		return nil, wrap("investigations", err)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.key(tenant, id)
	}
	return s.load(ctx, keys)
}

// RunningInvestigations lists every tenant's running investigations.
func (s *Investigations) RunningInvestigations(ctx context.Context) ([]domain.Investigation, error) {
	members, err := s.c.SMembers(ctx, s.running()).Result()
	if err != nil {
		return nil, wrap("running investigations", err)
	}
	keys := make([]string, 0, len(members))
	for _, m := range members {
		for i := 0; i < len(m); i++ {
			if m[i] == 0 {
				keys = append(keys, s.key(m[:i], m[i+1:]))
				break
			}
		}
	}
	out, err := s.load(ctx, keys)
	if err != nil {
		return nil, err
	}
	running := out[:0]
	for _, inv := range out {
		if inv.Status == domain.InvestigationRunning {
			running = append(running, inv)
		}
	}
	return running, nil
}

func (s *Investigations) load(ctx context.Context, keys []string) ([]domain.Investigation, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, wrap("investigations", err)
	}
	out := make([]domain.Investigation, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // pruned between the index and the read
		}
		var inv domain.Investigation
		if err := json.Unmarshal([]byte(str), &inv); err != nil {
			return nil, fmt.Errorf("investigations: %w", err)
		}
		out = append(out, inv)
	}
	return out, nil
}

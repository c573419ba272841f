// Package redisstore keeps what every replica of a scaled deployment must
// share and change: anomalies and incidents, with compare-and-set changes
// done in one Lua script on the server. The event and metric stores stay
// in ClickHouse and VictoriaMetrics; these records are few and small.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// Incidents is a storage.IncidentStore on Redis. Keys share one hash tag,
// so that a script's keys sit in one slot of a Redis Cluster.
type Incidents struct {
	c      *redis.Client
	prefix string
}

var _ storage.IncidentStore = (*Incidents)(nil)

// NewIncidents keeps anomalies and incidents under prefix (such as
// "inquest:").
func NewIncidents(c *redis.Client, prefix string) *Incidents {
	return &Incidents{c: c, prefix: prefix + "{inc}:"}
}

func (s *Incidents) incidentKey(tenant, id string) string {
	return s.prefix + "incident:" + tenant + ":" + id
}
func (s *Incidents) incidentIndex(tenant string) string { return s.prefix + "incidents:" + tenant }
func (s *Incidents) openSet() string                    { return s.prefix + "open" }
func (s *Incidents) anomalyKey(tenant, id string) string {
	return s.prefix + "anomaly:" + tenant + ":" + id
}
func (s *Incidents) anomalyIndex(tenant string) string { return s.prefix + "anomalies:" + tenant }

// PutAnomalies stores anomalies by tenant and ID, indexed by start.
func (s *Incidents) PutAnomalies(ctx context.Context, as []domain.Anomaly) error {
	if len(as) == 0 {
		return nil
	}
	pipe := s.c.TxPipeline()
	for _, a := range as {
		if a.Tenant == "" || a.ID == "" {
			return fmt.Errorf("put anomalies: anomaly: %w, or no id", domain.ErrNoTenant)
		}
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("put anomalies: %w", err)
		}
		pipe.Set(ctx, s.anomalyKey(a.Tenant, a.ID), b, 0)
		pipe.ZAdd(ctx, s.anomalyIndex(a.Tenant), redis.Z{Score: float64(a.StartNano), Member: a.ID})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("put anomalies: %w", err)
	}
	return nil
}

// Anomalies lists anomalies overlapping the range, newest first.
func (s *Incidents) Anomalies(ctx context.Context, tenant string, r domain.TimeRange, service string, limit int) ([]domain.Anomaly, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	if limit <= 0 || limit > domain.MaxPageSize {
		limit = domain.MaxPageSize
	}
	ids, err := s.c.ZRangeByScore(ctx, s.anomalyIndex(tenant), &redis.ZRangeBy{Min: "-inf", Max: "(" + strconv.FormatInt(r.End, 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("anomalies: %w", err)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.anomalyKey(tenant, id)
	}
	var out []domain.Anomaly
	err = s.fetch(ctx, keys, func(b []byte) error {
		var a domain.Anomaly
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		if (a.EndNano == 0 || a.EndNano >= r.Start) && (service == "" || a.Service == service) {
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("anomalies: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].StartNano != out[j].StartNano {
			return out[i].StartNano > out[j].StartNano
		}
		return out[i].ID < out[j].ID
	})
	return out[:min(len(out), limit)], nil
}

// Anomaly returns one anomaly.
func (s *Incidents) Anomaly(ctx context.Context, tenant, id string) (*domain.Anomaly, error) {
	b, err := s.c.Get(ctx, s.anomalyKey(tenant, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("anomaly: %w", err)
	}
	var a domain.Anomaly
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("anomaly %s: %w", id, err)
	}
	return &a, nil
}

// fetch reads string keys in one round trip; missing keys are skipped.
func (s *Incidents) fetch(ctx context.Context, keys []string, each func([]byte) error) error {
	if len(keys) == 0 {
		return nil
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return err
	}
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		if err := each([]byte(str)); err != nil {
			return err
		}
	}
	return nil
}

// casDoc stores an incident if its stored version is ARGV[1] (a
// missing incident has version 0), indexes it and keeps the set of open
// incidents. KEYS: incident, tenant index, open set. ARGV: expected
// version, new version, JSON, opened time, id, open (1/0), tenant/id.
// casDoc writes a versioned JSON document (KEYS[1], fields v and j) if its
// version is ARGV[1], indexes it by score (KEYS[2]) and keeps it in or out
// of an open set (KEYS[3]): incidents and proposals alike. ARGV[1] "new"
// writes only a document that does not exist.
var casDoc = redis.NewScript(`
local cur = redis.call("HGET", KEYS[1], "v")
if ARGV[1] == "new" then
  if cur then return 0 end
elseif (cur or "0") ~= ARGV[1] then return 0 end
redis.call("HSET", KEYS[1], "v", ARGV[2], "j", ARGV[3])
redis.call("ZADD", KEYS[2], ARGV[4], ARGV[5])
if ARGV[6] == "1" then redis.call("SADD", KEYS[3], ARGV[7]) else redis.call("SREM", KEYS[3], ARGV[7]) end
return 1`)

func (s *Incidents) write(ctx context.Context, in domain.Incident, expect string) (bool, error) {
	if in.Tenant == "" || in.ID == "" {
		return false, fmt.Errorf("incident: %w, or no id", domain.ErrNoTenant)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return false, err
	}
	open := "0"
	if in.Status != domain.IncidentResolved {
		open = "1"
	}
	ok, err := casDoc.Run(ctx, s.c, []string{s.incidentKey(in.Tenant, in.ID), s.incidentIndex(in.Tenant), s.openSet()},
		expect, strconv.FormatInt(in.Version, 10), b, in.OpenedNano, in.ID, open, in.Tenant+"/"+in.ID).Int()
	return ok == 1, err
}

// PutIncident stores an incident as it is, version included.
func (s *Incidents) PutIncident(ctx context.Context, in domain.Incident) error {
	cur, err := s.c.HGet(ctx, s.incidentKey(in.Tenant, in.ID), "v").Result()
	if errors.Is(err, redis.Nil) {
		cur = "0"
	} else if err != nil {
		return fmt.Errorf("put incident: %w", err)
	}
	if _, err := s.write(ctx, in, cur); err != nil {
		return fmt.Errorf("put incident: %w", err)
	}
	return nil
}

// UpdateIncident is a compare-and-set on the version, atomic on the server.
func (s *Incidents) UpdateIncident(ctx context.Context, in domain.Incident, version int64) error {
	in.Version = version + 1
	ok, err := s.write(ctx, in, strconv.FormatInt(version, 10))
	if err != nil {
		return fmt.Errorf("update incident: %w", err)
	}
	if !ok {
		return storage.ErrConflict
	}
	return nil
}

// Incident returns one incident or ErrNotFound.
func (s *Incidents) Incident(ctx context.Context, tenant, id string) (*domain.Incident, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	b, err := s.c.HGet(ctx, s.incidentKey(tenant, id), "j").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	var in domain.Incident
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("incident %s: %w", id, err)
	}
	return &in, nil
}

// incidents reads incidents by key, in one round trip.
func (s *Incidents) incidents(ctx context.Context, keys []string, keep func(*domain.Incident) bool) ([]domain.Incident, error) {
	pipe := s.c.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.HGet(ctx, k, "j")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []domain.Incident
	for _, c := range cmds {
		b, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var in domain.Incident
		if err := json.Unmarshal(b, &in); err != nil {
			return nil, err
		}
		if keep(&in) {
			out = append(out, in)
		}
	}
	return out, nil
}

// Incidents lists incidents open at some time in the range, newest first.
func (s *Incidents) Incidents(ctx context.Context, tenant string, r domain.TimeRange, status string) ([]domain.Incident, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	ids, err := s.c.ZRangeByScore(ctx, s.incidentIndex(tenant), &redis.ZRangeBy{Min: "-inf", Max: "(" + strconv.FormatInt(r.End, 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.incidentKey(tenant, id)
	}
	out, err := s.incidents(ctx, keys, func(in *domain.Incident) bool {
		return (in.ResolvedNano == 0 || in.ResolvedNano >= r.Start) && (status == "" || in.Status == status)
	})
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].OpenedNano != out[j].OpenedNano {
			return out[i].OpenedNano > out[j].OpenedNano
		}
		return out[i].ID < out[j].ID
	})
	return out[:min(len(out), 1000)], nil
}

// OpenIncidents lists every tenant's unresolved incidents.
func (s *Incidents) OpenIncidents(ctx context.Context) ([]domain.Incident, error) {
	members, err := s.c.SMembers(ctx, s.openSet()).Result()
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	keys := make([]string, 0, len(members))
	for _, m := range members {
		for i := 0; i < len(m); i++ {
			if m[i] == '/' { // tenant names have no '/'
				keys = append(keys, s.incidentKey(m[:i], m[i+1:]))
				break
			}
		}
	}
	out, err := s.incidents(ctx, keys, func(in *domain.Incident) bool { return in.Status != domain.IncidentResolved })
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Tenant != out[j].Tenant {
			return out[i].Tenant < out[j].Tenant
		}
		return out[i].OpenedNano < out[j].OpenedNano
	})
	return out, nil
}

package incidents

import (
	"context"
	"sort"
	"sync"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// memStore is an in-memory IncidentStore with the compare-and-set the real
// stores have (storetest holds them to it), and a fixed service graph.
type memStore struct {
	mu        sync.Mutex
	incidents map[string]domain.Incident
	anomalies map[string]domain.Anomaly
	edges     []domain.ServiceEdge
	// race, when set, is run once before the next update is judged: a
	// person's change landing between the detector's read and write.
	race func(s *memStore)
}

func newMemStore(edges ...domain.ServiceEdge) *memStore {
	return &memStore{incidents: map[string]domain.Incident{}, anomalies: map[string]domain.Anomaly{}, edges: edges}
}

func (s *memStore) PutAnomalies(_ context.Context, as []domain.Anomaly) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range as {
		s.anomalies[a.Tenant+"/"+a.ID] = a
	}
	return nil
}

func (s *memStore) Anomalies(_ context.Context, tenant string, r domain.TimeRange, service string, limit int) ([]domain.Anomaly, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Anomaly
	for _, a := range s.anomalies {
		if a.Tenant == tenant && (service == "" || a.Service == service) && a.StartNano < r.End {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartNano > out[j].StartNano })
	return out[:min(limit, len(out))], nil
}

func (s *memStore) Anomaly(_ context.Context, tenant, id string) (*domain.Anomaly, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.anomalies[tenant+"/"+id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return &a, nil
}

func (s *memStore) PutIncident(_ context.Context, in domain.Incident) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incidents[in.Tenant+"/"+in.ID] = in.Clone()
	return nil
}

func (s *memStore) UpdateIncident(_ context.Context, in domain.Incident, version int64) error {
	s.mu.Lock()
	if race := s.race; race != nil {
		s.race = nil
		s.mu.Unlock()
		race(s)
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	key := in.Tenant + "/" + in.ID
	if s.incidents[key].Version != version {
		return storage.ErrConflict
	}
	c := in.Clone()
	c.Version = version + 1
	s.incidents[key] = c
	return nil
}

func (s *memStore) OpenIncidents(context.Context) ([]domain.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Incident
	for _, in := range s.incidents {
		if in.Status != domain.IncidentResolved {
			out = append(out, in.Clone())
		}
	}
	return out, nil
}

func (s *memStore) Incidents(_ context.Context, tenant string, _ domain.TimeRange, status string) ([]domain.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Incident
	for _, in := range s.incidents {
		if in.Tenant == tenant && (status == "" || in.Status == status) {
			out = append(out, in.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OpenedNano > out[j].OpenedNano })
	return out, nil
}

func (s *memStore) Incident(_ context.Context, tenant, id string) (*domain.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.incidents[tenant+"/"+id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	c := in.Clone()
	return &c, nil
}

func (s *memStore) ServiceMap(context.Context, string, domain.TimeRange) ([]domain.ServiceEdge, error) {
	return s.edges, nil
}

func (s *memStore) get(id string) domain.Incident {
	in, _ := s.Incident(context.Background(), "t", id)
	if in == nil {
		return domain.Incident{}
	}
	return *in
}

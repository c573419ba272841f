package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/inquest/inquest/domain"
)

// resources keeps each resource (a process's attributes) once in its own
// table; events name theirs by res_id. It remembers which resources the
// table holds so that a batch appends only the new ones.
//
// Locking: a write holds hold for reading from its first look at the set
// until its commit, and Prune holds it for writing while it deletes the
// resources no event names, so a resource is never deleted between a
// write seeing it and the write's events committing. A write that brings
// new resources also holds insert through its commit, so two writers
// never both append the same one.
type resources struct {
	hold   sync.RWMutex
	insert sync.Mutex
	mu     sync.Mutex // guards known
	known  map[resKey]struct{}
}

type resKey struct {
	tenant string
	id     int64
}

// newResource is one resource a batch brings that the table lacks.
type newResource struct {
	key  resKey
	attr domain.Attrs
}

// load reads the set of stored resources.
func (r *resources) load(ctx context.Context, s *Store) error {
	rows, err := s.db.QueryContext(ctx, "SELECT tenant_id, res_id FROM resources")
	if err != nil {
		return fmt.Errorf("load resources: %w", err)
	}
	defer rows.Close()
	known := map[resKey]struct{}{}
	for rows.Next() {
		var k resKey
		if err := rows.Scan(&k.tenant, &k.id); err != nil {
			return fmt.Errorf("load resources: %w", err)
		}
		known[k] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load resources: %w", err)
	}
	r.mu.Lock()
	r.known = known
	r.mu.Unlock()
	return nil
}

// resourceID is the content hash of a resource's attributes (their order
// counts, as it does for the event's own hash); an event without resource
// attributes has none.
func resourceID(h *xxhash.Digest, a domain.Attrs) int64 {
	h.Reset()
	for i := range min(len(a.Keys), len(a.Values)) {
		_, _ = h.WriteString(a.Keys[i])
		_, _ = h.Write([]byte{0})
		_, _ = h.WriteString(a.Values[i])
		_, _ = h.Write([]byte{0})
	}
	return int64(h.Sum64())
}

// ids gives each event's res_id (nil without resource attributes) and the
// resources the table does not hold yet. Decoders hand the spans of one
// resource the same attribute lists, so a run of them is hashed once.
func (r *resources) ids(events []domain.Event) ([]driver.Value, []newResource) {
	out := make([]driver.Value, len(events))
	var (
		fresh []newResource
		h     = xxhash.New()
		prev  domain.Attrs
		id    int64
		runs  []int // the events where a run of one resource starts
	)
	for i := range events {
		a := events[i].Resource
		if len(a.Keys) == 0 {
			continue
		}
		if len(runs) == 0 || !sameLists(a, prev) || events[i].Tenant != events[runs[len(runs)-1]].Tenant {
			id, prev = resourceID(h, a), a
			runs = append(runs, i)
		}
		out[i] = id
	}
	seen := map[resKey]bool{}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, i := range runs {
		k := resKey{events[i].Tenant, out[i].(int64)}
		if _, ok := r.known[k]; !ok && !seen[k] {
			seen[k] = true
			fresh = append(fresh, newResource{k, events[i].Resource})
		}
	}
	return out, fresh
}

// sameLists reports whether a and b are the same lists in memory (not
// merely equal: that would cost what the hash costs).
func sameLists(a, b domain.Attrs) bool {
	return len(a.Keys) == len(b.Keys) && len(a.Values) == len(b.Values) && len(a.Keys) > 0 && len(a.Values) > 0 &&
		&a.Keys[0] == &b.Keys[0] && &a.Values[0] == &b.Values[0]
}

// unknown is the part of fresh the table still lacks (another writer may
// have stored some since ids looked).
func (r *resources) unknown(fresh []newResource) []newResource {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := fresh[:0]
	for _, n := range fresh {
		if _, ok := r.known[n.key]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// stored records resources as committed.
func (r *resources) stored(fresh []newResource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range fresh {
		r.known[n.key] = struct{}{}
	}
}

// appendNew appends the new resources in the batch's transaction.
func appendNew(fresh []newResource) appendTo {
	return appendTo{"resources", func(a *duckdb.Appender) error {
		for _, n := range fresh {
			if err := a.AppendRow(n.key.tenant, n.key.id, strs(n.attr.Keys), strs(n.attr.Values)); err != nil {
				return err
			}
		}
		return nil
	}}
}

// pruneResources deletes the resources no event names any more, after
// retention deleted events.
func (s *Store) pruneResources(ctx context.Context) (int64, error) {
	s.res.hold.Lock()
	defer s.res.hold.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM resources WHERE NOT EXISTS
		(SELECT 1 FROM events e WHERE e.tenant_id = resources.tenant_id AND e.res_id = resources.res_id)`)
	if err != nil {
		return 0, fmt.Errorf("prune resources: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		if err := s.res.load(ctx, s); err != nil {
			return n, err
		}
	}
	return n, nil
}

package ingest

import (
	"sync"
	"time"
)

// Dedup remembers content hashes seen within a window so that a retried
// batch is not stored twice. It keeps two generations of hashes and drops
// the older one each window, so memory is bounded by two windows of
// traffic (and by MaxEntries).
type Dedup struct {
	mu         sync.Mutex
	window     time.Duration
	maxEntries int
	cur, prev  map[uint64]struct{}
	rotated    time.Time
}

// NewDedup makes a dedup set; a zero window disables it.
func NewDedup(window time.Duration, maxEntries int) *Dedup {
	return &Dedup{window: window, maxEntries: maxEntries, cur: map[uint64]struct{}{}, prev: map[uint64]struct{}{}, rotated: time.Now()}
}

// Seen records h and reports whether it was seen before within the window.
func (d *Dedup) Seen(h uint64, now time.Time) bool {
	if d == nil || d.window <= 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.rotated) >= d.window || len(d.cur) >= d.maxEntries {
		d.prev, d.cur = d.cur, make(map[uint64]struct{}, len(d.cur))
		d.rotated = now
	}
	if _, ok := d.cur[h]; ok {
		return true
	}
	if _, ok := d.prev[h]; ok {
		return true
	}
	d.cur[h] = struct{}{}
	return false
}

// Forget removes h, for records that were counted as seen but then could
// not be queued, so that the client's retry is not dropped as a duplicate.
func (d *Dedup) Forget(h uint64) {
	if d == nil || d.window <= 0 {
		return
	}
	d.mu.Lock()
	delete(d.cur, h)
	delete(d.prev, h)
	d.mu.Unlock()
}

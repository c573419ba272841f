package server

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/internal/loop"
)

// memGuard watches the process's memory against --memory-limit: past 90%
// ingest pushes back (503) on the tenants holding most of the queue, at
// 100% on every tenant, and heavy queries are refused, so that the
// process degrades with clear errors instead of growing until it is
// killed. It reads the resident set (DuckDB allocates outside Go's heap)
// and falls back to Go's own total where /proc is not there.
type memGuard struct {
	limit int64
	every time.Duration
	high  atomic.Bool
	full  atomic.Bool
	used  prometheus.Gauge

	tick *loop.Periodic
	once sync.Once
	set  bool  // it lowered Go's memory limit
	prev int64 // Go's memory limit before, restored at Shutdown
}

func newMemGuard(limit int64, reg prometheus.Registerer) *memGuard {
	g := &memGuard{limit: limit, every: time.Second,
		used: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inquest_memory_used_bytes",
			Help: "Resident memory the guard compares with --memory-limit."})}
	if reg != nil {
		reg.MustRegister(g.used)
	}
	// The Go heap is collected harder near the limit. Go's limit is the
	// process's: it is only ever lowered here, and given back at Shutdown
	// only if nobody lowered it further meanwhile (tests run several
	// servers in one process).
	if limit > 0 && debug.SetMemoryLimit(-1) > limit {
		g.prev, g.set = debug.SetMemoryLimit(limit), true
	}
	return g
}

// Pressed reports whether the process is past 90% of its limit.
func (g *memGuard) Pressed() bool { return g != nil && g.high.Load() }

// Full reports whether the process is at its limit: ingest is then
// refused to every tenant, not only to the heaviest.
func (g *memGuard) Full() bool { return g != nil && g.full.Load() }

// Start samples once, then every second until Shutdown.
func (g *memGuard) Start(ctx context.Context) error {
	if g.limit <= 0 {
		return nil
	}
	g.sample()
	g.tick = loop.Every(g.every, func(context.Context, time.Time) { g.sample() })
	return g.tick.Start(ctx)
}

// Shutdown stops sampling. Idempotent.
func (g *memGuard) Shutdown(ctx context.Context) error {
	var err error
	g.once.Do(func() {
		if g.tick != nil { // started
			err = g.tick.Shutdown(ctx)
		}
		if g.set && debug.SetMemoryLimit(-1) == g.limit {
			debug.SetMemoryLimit(g.prev)
		}
	})
	return err
}

func (g *memGuard) sample() {
	used := residentBytes()
	g.used.Set(float64(used))
	g.high.Store(used > g.limit/10*9)
	g.full.Store(used >= g.limit)
}

// residentBytes is the resident set size from /proc, or Go's total when it
// cannot be read.
func residentBytes() int64 {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return pages * int64(os.Getpagesize())
			}
		}
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

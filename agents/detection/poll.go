package detection

import (
	"context"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/lock"
)

// Poll mode is for scaled deployments, where each writer stores only its
// share of the data: one writer at a time, the holder of a lease, reads
// each closed step's RED figures back from the store for every tenant and
// scores them; the others stand by and take over within a lease's time
// when it goes. So every series is watched by one process, over all of its
// data.

// PollConfig turns poll mode on.
type PollConfig struct {
	Events      storage.EventStore
	Coordinator lock.Coordinator
	// Lease is how long leadership lasts without renewal (default 30 s).
	Lease time.Duration
	// Holder names this process in the lease.
	Holder string
}

const leaderKey = "detection-leader"

// EnablePolling switches the engine to poll mode; call it before Start.
func (e *Engine) EnablePolling(p PollConfig) {
	if p.Lease <= 0 {
		p.Lease = 30 * time.Second
	}
	e.poll = &p
}

// Leader tells whether this process is the one scoring (always true
// outside poll mode).
func (e *Engine) Leader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.poll == nil || e.leader
}

// lead takes or renews the lease. A process that just became leader starts
// with the steps closing from now on (its baselines warm up again).
func (e *Engine) lead(ctx context.Context) bool {
	p := e.poll
	prev := ""
	if e.leader {
		prev = p.Holder
	}
	ok, err := p.Coordinator.CompareAndSet(ctx, leaderKey, prev, p.Holder, p.Lease)
	if err != nil || !ok {
		if e.leader {
			e.logger.Warn("detection leadership lost", "holder", p.Holder, "err", err)
		}
		e.leader = false
		return false
	}
	if !e.leader {
		e.logger.Info("detection leadership taken", "holder", p.Holder)
		res := int64(e.cfg.Resolution)
		now := e.now().UnixNano() - int64(e.cfg.Grace) - res
		e.polled = now - now%res
	}
	e.leader = true
	return true
}

// pollSteps reads every step closed since the last poll from the store.
func (e *Engine) pollSteps(ctx context.Context, now int64) []closedStep {
	res := int64(e.cfg.Resolution)
	var out []closedStep
	for s := e.polled + res; s+res+int64(e.cfg.Grace) <= now; s += res {
		red := map[redKey]*redStep{}
		for tenant := range e.tenants {
			e.readStep(ctx, tenant, domain.TimeRange{Start: s, End: s + res}, red)
		}
		out = append(out, closedStep{start: s, red: red})
		e.polled = s
	}
	return out
}

// readStep asks the store for one step's counts, errors and p99 by
// service and by service and operation, and the deploys in it.
func (e *Engine) readStep(ctx context.Context, tenant string, r domain.TimeRange, red map[redKey]*redStep) {
	spans := domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "kind"}, Op: domain.OpEq, Value: string(domain.KindSpan)}
	failed := domain.Filter{Field: domain.Field{Kind: domain.FieldColumn, Name: "status"}, Op: domain.OpEq, Value: string(domain.StatusError)}
	dur := domain.Field{Kind: domain.FieldColumn, Name: "duration_ms"}
	svc, name := domain.Field{Kind: domain.FieldColumn, Name: "service"}, domain.Field{Kind: domain.FieldColumn, Name: "name"}
	for _, groups := range [][]domain.Field{{svc}, {svc, name}} {
		q := domain.Query{Tenant: tenant, Range: r, Filters: []domain.Filter{spans}, GroupBy: groups, Limit: domain.MaxGroupLimit,
			Aggregations: []domain.Aggregation{{Op: domain.AggCount}, {Op: domain.AggP99, Field: &dur}}}
		all, err := e.poll.Events.Aggregate(ctx, q)
		if err != nil {
			e.logger.Warn("detection poll failed", "tenant", tenant, "err", err)
			return
		}
		q.Filters = append(q.Filters, failed)
		q.Aggregations = q.Aggregations[:1]
		bad, err := e.poll.Events.Aggregate(ctx, q)
		if err != nil {
			e.logger.Warn("detection poll failed", "tenant", tenant, "err", err)
			return
		}
		errs := map[[2]string]float64{}
		for _, row := range bad.Rows {
			errs[rowKey(row)] = val(row.Values[0])
		}
		for _, row := range all.Rows {
			k := rowKey(row)
			st := &redStep{count: val(row.Values[0]), errors: errs[k], fromStore: true, storedP99: val(row.Values[1])}
			st.seen = int(st.count)
			red[redKey{tenant, k[0], k[1]}] = st
		}
	}
	page, err := e.poll.Events.Events(ctx, domain.EventQuery{Tenant: tenant, Range: r, Limit: 100, Filters: []domain.Filter{
		{Field: domain.Field{Kind: domain.FieldColumn, Name: "kind"}, Op: domain.OpEq, Value: string(domain.KindEvent)},
		{Field: name, Op: domain.OpEq, Value: "deploy"}}})
	if err == nil {
		for _, d := range page.Events {
			d.Tenant = tenant
			e.sink.Deployed(d)
		}
	}
}

func rowKey(row domain.AggregateRow) [2]string {
	var k [2]string
	for i, p := range row.Keys {
		if p != nil && i < 2 {
			k[i] = *p
		}
	}
	return k
}

func val(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

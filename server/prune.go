package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/storage"
)

// pruner deletes what retention has passed, every interval: from the
// embedded store events and metric samples by when they were taken in,
// dead letters, audit entries and usage by their own time; from ClickHouse
// events by when they were taken in. (VictoriaMetrics ages metrics by its
// own -retentionPeriod.)
type pruner struct {
	stores   []storage.Pruner
	r        storage.Retention
	interval time.Duration
	logger   *slog.Logger
	deleted  prometheus.Counter

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func newPruner(stores []storage.Pruner, r storage.Retention, interval time.Duration, reg prometheus.Registerer, logger *slog.Logger) *pruner {
	p := &pruner{stores: stores, r: r, interval: interval, logger: logger, done: make(chan struct{}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{Name: "inquest_pruned_rows_total",
			Help: "Rows deleted (or, on ClickHouse, asked to be) because their retention passed."})}
	reg.MustRegister(p.deleted)
	return p
}

// Start prunes every interval until Shutdown (the first time one interval
// after start, so that a restart loop does not prune in a loop).
func (p *pruner) Start(ctx context.Context) error {
	if p.interval <= 0 {
		close(p.done)
		return nil
	}
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				for _, st := range p.stores {
					n, err := st.Prune(ctx, p.r, now)
					p.deleted.Add(float64(n))
					if err != nil && ctx.Err() == nil {
						p.logger.Error("pruning past retention failed", "err", err)
					}
				}
			}
		}
	}()
	return nil
}

// Shutdown stops pruning, waiting for a prune under way. Idempotent.
func (p *pruner) Shutdown(context.Context) error {
	p.once.Do(func() {
		if p.cancel != nil { // started
			p.cancel()
			<-p.done
		}
	})
	return nil
}

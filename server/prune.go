package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/internal/loop"
	"github.com/inquest/inquest/storage"
)

// newPruner deletes what retention has passed, every interval: from the
// embedded store events and metric samples by when they were taken in,
// dead letters, audit entries and usage by their own time; from ClickHouse
// events by when they were taken in. (VictoriaMetrics ages metrics by its
// own -retentionPeriod.)
func newPruner(stores []storage.Pruner, r storage.Retention, interval time.Duration, reg prometheus.Registerer, logger *slog.Logger) *loop.Periodic {
	deleted := prometheus.NewCounter(prometheus.CounterOpts{Name: "inquest_pruned_rows_total",
		Help: "Rows deleted (or, on ClickHouse, asked to be) because their retention passed."})
	reg.MustRegister(deleted)
	return loop.Every(interval, func(ctx context.Context, now time.Time) {
		for _, st := range stores {
			n, err := st.Prune(ctx, r, now)
			deleted.Add(float64(n))
			if err != nil && ctx.Err() == nil {
				logger.Error("pruning past retention failed", "err", err)
			}
		}
	})
}

// edgeSettle is how long a minute goes without writes before its edges
// are folded: each service's exporter sends its spans in batches of its
// own, seconds apart. A minute written to later is folded again.
const edgeSettle = 10 * time.Second

// newEdgeFolder folds the service map's minutes every interval, in the
// processes that write the events (storage.EdgeFolder).
func newEdgeFolder(f storage.EdgeFolder, interval time.Duration, reg prometheus.Registerer, logger *slog.Logger) *loop.Periodic {
	folded := prometheus.NewCounter(prometheus.CounterOpts{Name: "inquest_service_map_folded_minutes_total",
		Help: "Minutes whose caller → callee edges were folded from their spans (again when written to later)."})
	took := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "inquest_service_map_fold_seconds",
		Help: "How long a fold of the written minutes took.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)})
	reg.MustRegister(folded, took)
	return loop.Every(interval, func(ctx context.Context, now time.Time) {
		began := time.Now()
		n, err := f.FoldEdges(ctx, now.Add(-edgeSettle).UnixNano())
		folded.Add(float64(n))
		if n > 0 {
			took.Observe(time.Since(began).Seconds())
		}
		if err != nil && ctx.Err() == nil {
			logger.Error("folding the service map's minutes failed", "err", err)
		}
	})
}

package detection

import (
	"context"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/updates"
)

// How a watched series' anomaly opens, grows and ends, and the series'
// housekeeping.

// advance moves the series' anomaly along: opened on the first anomalous
// step, extended while it lasts, ended after EndAfter normal steps.
func (e *Engine) advance(ctx context.Context, w *watched, start int64, v float64, verdict Verdict) {
	if !verdict.Ready {
		return
	}
	stepEnd := start + int64(e.cfg.Resolution)
	opened, ended := w.episode.Step(verdict.Anomalous, e.cfg.EndAfter)
	if verdict.Anomalous {
		if opened {
			a := &domain.Anomaly{Tenant: w.tenant, ID: domain.NewID(), Series: readableKey(w), Service: w.service,
				Operation: w.operation, Signal: w.signal, StartNano: start, Expected: verdict.Expected, Observed: v,
				Lower: verdict.Lower, Upper: verdict.Upper, Score: verdict.Score, Detector: verdict.Detector}
			a.Severity = severity(w.signal, verdict.Score, v)
			if w.fixedSeverity != "" {
				a.Severity = w.fixedSeverity
			}
			a.Explanation = explain(w, verdict, v)
			w.open = a
			e.anomaliesTotal.Inc()
			e.fresh = append(e.fresh, a) // grouped once the whole step is scored
			return
		}
		a := w.open
		if verdict.Score > a.Score {
			a.Score, a.Observed, a.Expected, a.Explanation = verdict.Score, v, verdict.Expected, explain(w, verdict, v)
			if sev := severity(w.signal, verdict.Score, v); w.fixedSeverity == "" && rank(sev) > rank(a.Severity) {
				a.Severity = sev
				e.sink.Raised(ctx, a)
			}
			e.persistAnomaly(ctx, a)
		}
		return
	}
	if ended {
		a := w.open
		a.EndNano = stepEnd - int64(e.cfg.EndAfter)*int64(e.cfg.Resolution)
		w.open = nil
		e.persistAnomaly(ctx, a)
		e.sink.Ended(ctx, a)
		e.broker.Publish(updates.Update{Anomaly: a})
	}
}

// acceptNormals ends the anomalies whose level a person accepted as the
// new normal (acceptNewNormal on their incident): their series learn
// their baselines afresh from the next point.
func (e *Engine) acceptNormals(ctx context.Context, now int64) {
	for _, w := range e.series {
		if w.open == nil || !e.sink.Accepted(w.open) {
			continue
		}
		if w.det != nil {
			w.det.Rebaseline()
		}
		a := w.open
		a.EndNano = now
		w.open, w.episode = nil, Episode{}
		e.persistAnomaly(ctx, a)
		e.sink.Ended(ctx, a)
		e.broker.Publish(updates.Update{Anomaly: a})
	}
}

func (e *Engine) persistAnomaly(ctx context.Context, a *domain.Anomaly) {
	if err := e.store.PutAnomalies(ctx, []domain.Anomaly{*a}); err != nil {
		e.logger.Error("store anomaly failed", "err", err)
	}
}

// housekeeping forgets quiet series; the sink resolves quiet incidents.
func (e *Engine) housekeeping(ctx context.Context, now int64) {
	for key, w := range e.series {
		if w.open == nil && w.lastSeen > 0 && now-w.lastSeen > int64(e.cfg.DropAfter) {
			delete(e.series, key)
			e.perTenant[w.tenant]--
		}
	}
	e.sink.Housekeep(ctx, now)
}

func containsInt(xs []int64, x int64) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func sortInts(xs []int64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

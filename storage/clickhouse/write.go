package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/internal/loop"
)

// The column list is explicit: 18.16 refuses the driver's batch insert
// without one, and it keeps inserts working when a migration adds columns.
const insertColumns = `tenant_id, ts, kind, service, name, trace_id, span_id, parent_span_id,
	duration_ns, status, severity, body, attr_keys, attr_vals, num_keys, num_vals, res_keys, res_vals,
	sample_rate, event_id, ingested_ts`

// WriteEvents inserts the batch as one block, so that it is stored whole or
// not at all. A failed insert is retried with the identical block: servers
// with insert deduplication drop a block they already stored, and the
// ReplacingMergeTree keyed on the content hash merges away any copy that
// still gets through (on 18.16, until the next merge a retried batch whose
// first attempt succeeded after all can count twice).
func (s *Store) WriteEvents(ctx context.Context, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		if events[i].Tenant == "" {
			return fmt.Errorf("write events: event: %w", domain.ErrNoTenant)
		}
	}
	err := loop.Retry(ctx, loop.Backoff{Tries: s.retries + 1, First: 100 * time.Millisecond, Factor: 4}, func() error {
		err := s.insertEvents(ctx, events)
		if err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled)) {
			return loop.Permanent(err)
		}
		return err
	}, func(attempt int, err error) {
		s.logger.Warn("clickhouse insert failed; retrying", "attempt", attempt, "rows", len(events), "err", err)
	})
	if err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}

func (s *Store) insertEvents(ctx context.Context, events []domain.Event) error {
	if s.cluster != "" {
		ctx = s.syncInsert(ctx)
	}
	if err := s.markEdges(ctx, events); err != nil {
		return fmt.Errorf("mark the service map's minutes: %w", err)
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".events ("+insertColumns+")")
	if err != nil {
		return err
	}
	defer func() { _ = batch.Abort() }()
	now := time.Now().UnixNano()
	for i := range events {
		e := &events[i]
		ingested := e.IngestedNano
		if ingested == 0 {
			ingested = now
		}
		var dur *int64
		if e.HasDuration() {
			d := e.DurationNano
			dur = &d
		}
		if err := batch.Append(e.Tenant, e.TimeUnixNano, string(e.Kind), e.Service, e.Name,
			e.TraceID, e.SpanID, e.ParentSpanID, dur, string(e.Status), e.Severity, e.Body,
			strs(e.Attrs.Keys), strs(e.Attrs.Values), strs(e.NumAttrs.Keys), floats(e.NumAttrs.Values),
			strs(e.Resource.Keys), strs(e.Resource.Values), e.SampleRate, e.ID, ingested); err != nil {
			return err
		}
	}
	return batch.Send()
}

func strs(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func floats(v []float64) []float64 {
	if v == nil {
		return []float64{}
	}
	return v
}

// syncInsert makes an insert into a Distributed table return only once
// the shards have the rows.
func (s *Store) syncInsert(ctx context.Context) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
}

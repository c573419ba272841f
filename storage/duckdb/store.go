// Package duckdb is the embedded storage backend: one DuckDB file holds
// events, spans, logs, metric samples and dead letters. It needs cgo.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

//go:embed schema.sql
var schemaSQL string

// Config configures the embedded store.
type Config struct {
	// Path of the database file; empty means in memory (tests).
	Path string
	// Threads DuckDB may use; 0 lets DuckDB choose (all cores).
	Threads int
	// MemoryLimit such as "4GB"; empty lets DuckDB choose (80% of RAM).
	MemoryLimit string
	// CheckpointThreshold is how much write-ahead log accumulates before
	// DuckDB checkpoints it into the database file. DuckDB's 16MB default
	// checkpoints every few batches and costs a third of ingest throughput;
	// a larger one holds that much more un-checkpointed data in memory and
	// makes a restart after a crash replay more log. Empty keeps DuckDB's.
	CheckpointThreshold string
}

var sizeSetting = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|B)?$`)

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Threads < 0 {
		return fmt.Errorf("duckdb threads must not be negative")
	}
	for name, v := range map[string]string{"memory limit": c.MemoryLimit, "checkpoint threshold": c.CheckpointThreshold} {
		if v != "" && !sizeSetting.MatchString(v) {
			return fmt.Errorf("duckdb %s %q: want a size such as 512MB or 4GB", name, v)
		}
	}
	return nil
}

// Store implements storage.Store on DuckDB.
type Store struct {
	db     *sql.DB
	logger *slog.Logger
	// casMu makes each compare-and-set one step.
	casMu sync.Mutex
	// foldMu lets one fold of the edges run at a time.
	foldMu sync.Mutex
	res    resources
}

var _ storage.Store = (*Store)(nil)

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("database file is in use by another process")

// Open opens (creating if needed) the database and its schema.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Path != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	connector, err := duckdb.NewConnector(cfg.Path, func(execer driver.ExecerContext) error {
		var opts []string
		if cfg.Threads > 0 {
			opts = append(opts, fmt.Sprintf("SET threads = %d", cfg.Threads))
		}
		// SET does not take bound parameters; Validate allowed only plain
		// size strings.
		if cfg.MemoryLimit != "" {
			opts = append(opts, fmt.Sprintf("SET memory_limit = '%s'", cfg.MemoryLimit))
		}
		if cfg.CheckpointThreshold != "" {
			opts = append(opts, fmt.Sprintf("SET checkpoint_threshold = '%s'", cfg.CheckpointThreshold))
		}
		for _, o := range opts {
			if _, err := execer.ExecContext(ctx, o, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if pid := lockHolder(cfg.Path); pid > 0 {
			return nil, fmt.Errorf("open %s: %w (process %d)", cfg.Path, ErrLocked, pid)
		}
		return nil, fmt.Errorf("open duckdb %s: %w", cfg.Path, err)
	}
	db := sql.OpenDB(connector)
	if _, err := db.ExecContext(ctx, schemaSQL); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create schema: %w", err)
	}
	s := &Store{db: db, logger: logger}
	if err := s.res.load(ctx, s); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database, checkpointing it.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the handle for benchmarks and tests that need to seed data in
// bulk.
func (s *Store) DB() *sql.DB { return s.db }

// appendTo is rows to append to a table.
type appendTo struct {
	table string
	fn    func(a *duckdb.Appender) error
}

// appendAll runs fn with an appender on table, then each of more on its
// own, inside one transaction, so that a batch is stored whole or not at
// all.
func (s *Store) appendAll(ctx context.Context, table string, fn func(a *duckdb.Appender) error, more ...appendTo) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	err = conn.Raw(func(dc any) error {
		for _, to := range append([]appendTo{{table, fn}}, more...) {
			a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", to.table)
			if err != nil {
				return err
			}
			if err := to.fn(a); err != nil {
				_ = a.Close()
				return err
			}
			if err := a.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	return nil
}

func nullStr(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// ingested is a record's ingest time, the store's clock when it has none
// (records that came through Kafka, written by an older gateway).
func ingested(ns int64) int64 {
	if ns > 0 {
		return ns
	}
	return time.Now().UnixNano()
}

// WriteEvents appends a batch of events in one transaction, with the
// resources it brings that were not stored yet.
func (s *Store) WriteEvents(ctx context.Context, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		if events[i].Tenant == "" {
			return fmt.Errorf("write events: event: %w", domain.ErrNoTenant)
		}
	}
	s.res.hold.RLock()
	defer s.res.hold.RUnlock()
	resIDs, fresh := s.res.ids(events)
	more := []appendTo{s.marks(events)}
	if len(fresh) > 0 {
		s.res.insert.Lock()
		defer s.res.insert.Unlock()
		if fresh = s.res.unknown(fresh); len(fresh) > 0 {
			more = append(more, appendNew(fresh))
		}
	}
	err := s.appendAll(ctx, "events", func(a *duckdb.Appender) error {
		for i := range events {
			e := &events[i]
			var dur driver.Value
			if e.HasDuration() {
				dur = e.DurationNano
			}
			// The resource's attributes are in resources, named by res_id.
			if err := a.AppendRow(e.Tenant, e.TimeUnixNano, string(e.Kind), e.Service, e.Name,
				nullStr(e.TraceID), nullStr(e.SpanID), nullStr(e.ParentSpanID), dur,
				string(e.Status), nullStr(e.Severity), nullStr(e.Body),
				strs(e.Attrs.Keys), strs(e.Attrs.Values), strs(e.NumAttrs.Keys), floats(e.NumAttrs.Values),
				nil, nil, e.SampleRate, int64(e.ID), ingested(e.IngestedNano), resIDs[i]); err != nil {
				return err
			}
		}
		return nil
	}, more...)
	if err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	s.res.stored(fresh)
	return nil
}

// The appender wants a non-nil slice for an empty list.
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

// WriteSamples appends a batch of metric samples in one transaction.
func (s *Store) WriteSamples(ctx context.Context, samples []domain.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	err := s.appendAll(ctx, "metric_samples", func(a *duckdb.Appender) error {
		for i := range samples {
			m := &samples[i]
			if m.Tenant == "" {
				return fmt.Errorf("sample: %w", domain.ErrNoTenant)
			}
			if err := a.AppendRow(m.Tenant, int64(m.SeriesID), m.Name, strs(m.Labels.Keys), strs(m.Labels.Values),
				string(m.Type), m.TimeUnixNano, m.Value, ingested(m.IngestedNano)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write samples: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

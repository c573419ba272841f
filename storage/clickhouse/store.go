// Package clickhouse stores events, spans and logs in ClickHouse, for
// deployments that outgrow one machine. It implements storage.EventStore
// with the same answers as the embedded store (the storetest suite checks
// it) on every server from Debian's 18.16 to current releases: the schema
// uses the modern column options where the server has them, and the
// queries are the same everywhere.
package clickhouse

import (
	"context"
	"embed"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/inquest/inquest/storage"
)

// Config configures the ClickHouse event store.
type Config struct {
	// DSN such as clickhouse://user:password@127.0.0.1:9000/inquest; the
	// path names the database, created if missing.
	DSN string
	// Cluster, when set, creates the tables ON CLUSTER with Distributed
	// tables over per-shard local ones (see README "Scaling out").
	Cluster string
	// NoClusterDDL creates the cluster's tables on the connected server
	// only, without ON CLUSTER, for clusters without Keeper/ZooKeeper where
	// each server is migrated on its own.
	NoClusterDDL bool
	// Replicated uses the Replicated* engines for the local tables (needs
	// ZooKeeper/Keeper and the {shard} and {replica} macros).
	Replicated bool
	// TTL deletes events this much older than their own timestamp, on
	// servers that support TTL (19.6+). Zero keeps everything; imported
	// history older than the TTL is deleted too.
	TTL time.Duration
	// InsertRetries is how often a failed insert is retried (default 3).
	InsertRetries int
	// QueryMemory is max_memory_usage for each of Inquest's queries (0:
	// the server's default): one costly query fails instead of taking
	// the server's memory from everyone else's.
	QueryMemory int64
}

// Store implements storage.EventStore on ClickHouse.
type Store struct {
	conn    driver.Conn
	db      string
	cluster string
	// clusterDDL runs DDL (and mutations) ON CLUSTER.
	clusterDDL bool
	features   Features
	retries    int
	logger     *slog.Logger
}

var _ storage.EventStore = (*Store)(nil)

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Open connects, creates the database and applies the migrations.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts, err := clickhouse.ParseDSN(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("clickhouse dsn: %w", redact(err, cfg.DSN))
	}
	db := opts.Auth.Database
	if db == "" {
		db = "inquest"
	}
	for what, v := range map[string]string{"database": db, "cluster": cfg.Cluster} {
		if v != "" && !identifier.MatchString(v) {
			return nil, fmt.Errorf("clickhouse %s %q: want letters, digits and underscores", what, v)
		}
	}
	// Connect without a database: it may not exist yet.
	opts.Auth.Database = ""
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if cfg.QueryMemory > 0 {
		if opts.Settings == nil {
			opts.Settings = clickhouse.Settings{}
		}
		opts.Settings["max_memory_usage"] = int(cfg.QueryMemory)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	s := &Store{conn: conn, db: db, cluster: cfg.Cluster, clusterDDL: cfg.Cluster != "" && !cfg.NoClusterDDL,
		retries: cfg.InsertRetries, logger: logger}
	if s.retries <= 0 {
		s.retries = 3
	}
	// A server that accepts the connection but never answers must not hang
	// start-up.
	initCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.init(initCtx, cfg); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context, cfg Config) error {
	v, err := s.conn.ServerVersion()
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	s.features = FeaturesOf(v.Version.Major, v.Version.Minor)
	s.logger.Info("clickhouse connected", "version", fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch),
		"database", s.db, "modern_schema", s.features.LowCardinality)
	p := schemaParams{
		Features: s.features, DB: s.db, Cluster: cfg.Cluster, Replicated: cfg.Replicated,
		TTLDays: int(cfg.TTL / (24 * time.Hour)), noClusterDDL: cfg.NoClusterDDL,
	}
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db+p.OnCluster()); err != nil {
		return fmt.Errorf("create database %s: %w", s.db, err)
	}
	return migrate(ctx, s.conn, p)
}

// Close closes the connections.
func (s *Store) Close() error { return s.conn.Close() }

// Features reports which schema options the server supports.
func (s *Store) Features() Features { return s.features }

// Conn exposes the connection for tests and benchmarks that seed data.
func (s *Store) Conn() driver.Conn { return s.conn }

// Database is the database the store uses.
func (s *Store) Database() string { return s.db }

// redact keeps a password in the DSN out of an error message.
func redact(err error, dsn string) error {
	msg := err.Error()
	if i := strings.Index(dsn, "@"); i > 0 {
		if j := strings.Index(dsn, "://"); j >= 0 && j < i {
			msg = strings.ReplaceAll(msg, dsn[j+3:i], "***")
		}
	}
	return fmt.Errorf("%s", msg)
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

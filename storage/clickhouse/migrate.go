package clickhouse

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Features are the schema options a server version supports. The queries
// never depend on them: they change storage size and speed only.
type Features struct {
	LowCardinality bool // LowCardinality(String): default since 19.x
	Codecs         bool // column codecs: 19.1+
	TTL            bool // table TTL: 19.6+
	SkipIndexes    bool // bloom_filter data-skipping index: 19.x, stable by 20.x
	DedupWindow    bool // non_replicated_deduplication_window: 21.x
}

// FeaturesOf tells the options of a server version. The line is drawn at
// 22, the oldest release still in common use after 18.16, rather than at
// each feature's first release: the early versions of several of them were
// experimental and behind settings.
func FeaturesOf(major, minor uint64) Features {
	modern := major >= 22
	return Features{LowCardinality: modern, Codecs: modern, TTL: modern, SkipIndexes: modern, DedupWindow: modern}
}

// schemaParams is what the migration templates see.
type schemaParams struct {
	Features
	DB         string
	Cluster    string
	Replicated bool
	TTLDays    int

	noClusterDDL bool
}

// LowCard is the type of a repetitive string column.
func (p schemaParams) LowCard() string {
	if p.LowCardinality {
		return "LowCardinality(String)"
	}
	return "String"
}

// Codec is a CODEC clause where supported, nothing otherwise.
func (p schemaParams) Codec(c string) string {
	if p.Codecs {
		return "CODEC(" + c + ")"
	}
	return ""
}

// Local names a table that holds data: itself on one server, the shard's
// local table under a cluster.
func (p schemaParams) Local(table string) string {
	if p.Cluster != "" {
		return p.DB + "." + table + "_local"
	}
	return p.DB + "." + table
}

// OnCluster is the ON CLUSTER clause of DDL under a cluster.
func (p schemaParams) OnCluster() string {
	if p.Cluster == "" || p.noClusterDDL {
		return ""
	}
	return " ON CLUSTER " + p.Cluster
}

// Engine is the MergeTree engine, replicated when configured.
func (p schemaParams) Engine(engine, table string) string {
	if !p.Replicated {
		return engine + "()"
	}
	return fmt.Sprintf("Replicated%s('/clickhouse/tables/{shard}/%s/%s', '{replica}')", engine, p.DB, table)
}

// EngineVersioned is a MergeTree engine that takes a version column
// (ReplacingMergeTree keeps the row with the highest), replicated when
// configured.
func (p schemaParams) EngineVersioned(engine, table, version string) string {
	if !p.Replicated {
		return engine + "(" + version + ")"
	}
	return fmt.Sprintf("Replicated%s('/clickhouse/tables/{shard}/%s/%s', '{replica}', %s)", engine, p.DB, table, version)
}

// TTLDays is zero on servers without TTL, which drops the clause.
func (p schemaParams) ttlDays() int {
	if !p.TTL {
		return 0
	}
	return p.TTLDays
}

type migration struct {
	version    int
	name       string
	statements []string
}

// loadMigrations renders the embedded files for this server, in order.
// A file is NNNN_name.sql; statements are separated by ";\n".
func loadMigrations(p schemaParams) ([]migration, error) {
	p.TTLDays = p.ttlDays()
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		raw, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		tmpl, err := template.New(e.Name()).Option("missingkey=error").Parse(string(raw))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		var sb strings.Builder
		if err := tmpl.Execute(&sb, p); err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		m := migration{version: version, name: name}
		for _, stmt := range strings.Split(sb.String(), ";\n") {
			if body := stripComments(stmt); body != "" {
				m.statements = append(m.statements, body)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func stripComments(stmt string) string {
	var lines []string
	for _, l := range strings.Split(stmt, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, l)
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// migrate applies the migrations not yet recorded. Every statement is
// idempotent (IF NOT EXISTS), so two writers starting at once, or a crash
// between a statement and its record, are harmless.
func migrate(ctx context.Context, conn driver.Conn, p schemaParams) error {
	ms, err := loadMigrations(p)
	if err != nil {
		return err
	}
	if err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+p.DB+".schema_migrations"+p.OnCluster()+
		" (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree() ORDER BY version"); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+p.DB+".schema_migrations")
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[int(v)] = true
	}
	rows.Close()
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		for _, stmt := range m.statements {
			if err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
			}
		}
		if err := record(ctx, conn, p.DB, m); err != nil {
			return fmt.Errorf("record migration %04d: %w", m.version, err)
		}
	}
	return nil
}

// record notes an applied migration. A batch, not INSERT ... VALUES through
// Exec: 18.16 waits for a data block after an INSERT's query text.
func record(ctx context.Context, conn driver.Conn, db string, m migration) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	if err := batch.Append(uint32(m.version), m.name, time.Now()); err != nil {
		_ = batch.Abort()
		return err
	}
	return batch.Send()
}

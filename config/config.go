// Package config holds every setting of `inquest serve` and reads it from
// flags, INQUEST_* environment variables and an optional YAML file, in that
// order of precedence. A flag named --data-dir is INQUEST_DATA_DIR in the
// environment and data-dir in the YAML file.
package config

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/inquest/inquest/ingest/otlp"
	"github.com/inquest/inquest/storage"
)

// Config is the whole configuration of a server.
type Config struct {
	HTTPAddr     string `koanf:"http-addr"`
	GRPCAddr     string `koanf:"grpc-addr"`
	OTLPHTTPAddr string `koanf:"otlp-http-addr"`
	// PprofAddr serves Go's profiler (/debug/pprof/) for operators; off
	// when empty, and only on a loopback address since it has no
	// authentication.
	PprofAddr string `koanf:"pprof-addr"`
	DataDir   string `koanf:"data-dir"`

	Demo           bool          `koanf:"demo"`
	DemoFaultAfter time.Duration `koanf:"demo-fault-after"`
	DemoRate       float64       `koanf:"demo-rate"`
	DemoScenario   string        `koanf:"demo-scenario"`

	Retention    time.Duration `koanf:"retention"`
	MaxFuture    time.Duration `koanf:"max-future"`
	MaxBodyBytes int64         `koanf:"max-body-bytes"`
	// MetricResourceAttributes are the OTLP resource attributes that
	// label every metric series of their resource (the rest go on
	// target_info), as Prometheus' promote_resource_attributes.
	MetricResourceAttributes []string      `koanf:"metric-resource-attribute"`
	QueueRecords             int           `koanf:"queue-records"`
	BatchSize                int           `koanf:"batch-size"`
	FlushInterval            time.Duration `koanf:"flush-interval"`
	Writers                  int           `koanf:"writers"`
	DedupWindow              time.Duration `koanf:"dedup-window"`

	TenantEventsPerSecond float64 `koanf:"tenant-events-per-second"`
	TenantBurst           int     `koanf:"tenant-burst"`
	TenantBytesPerDay     int64   `koanf:"tenant-bytes-per-day"`

	// Role splits a scaled deployment: gateways take data in and answer
	// queries, writers move data from Kafka to the stores; all does both.
	Role string `koanf:"role"`

	ClickHouseDSN        string        `koanf:"clickhouse-dsn"`
	ClickHouseCluster    string        `koanf:"clickhouse-cluster"`
	ClickHouseReplicated bool          `koanf:"clickhouse-replicated"`
	ClickHouseTTL        time.Duration `koanf:"clickhouse-ttl"`
	// ClickHouseQueryMemory bounds the memory of one query on ClickHouse
	// (its max_memory_usage); a query past it fails, the server lives.
	ClickHouseQueryMemory int64    `koanf:"clickhouse-query-memory"`
	VictoriaMetricsURL    string   `koanf:"victoriametrics-url"`
	KafkaBrokers          []string `koanf:"kafka-brokers"`
	KafkaTopic            string   `koanf:"kafka-topic"`
	KafkaGroup            string   `koanf:"kafka-group"`
	KafkaCompression      string   `koanf:"kafka-compression"`
	KafkaPartitions       int      `koanf:"kafka-partitions"`

	Detection             bool          `koanf:"detection"`
	DetectionResolution   time.Duration `koanf:"detection-resolution"`
	DetectionMaxSeries    int           `koanf:"detection-max-series"`
	DetectionResolveAfter time.Duration `koanf:"detection-resolve-after"`
	// DetectionAdaptAfter is how long a series may stay at a new level
	// before that level becomes its normal (acceptNewNormal does it at
	// once); until then its anomaly, and its incident, stay open.
	DetectionAdaptAfter time.Duration `koanf:"detection-adapt-after"`
	// InvestigationWorkers run investigations at once in each process;
	// InvestigateIncidents starts one when an incident opens or gains
	// services (where detection runs).
	InvestigationWorkers int  `koanf:"investigation-workers"`
	InvestigateIncidents bool `koanf:"investigate-incidents"`
	// InvestigationSettle is how long telemetry takes to arrive in full
	// (SDK exporters batch for seconds, each service on its own): an
	// investigation waits until its window's end is that far in the past,
	// or reads a caller whose callees' spans have not come yet as slow.
	InvestigationSettle time.Duration `koanf:"investigation-settle"`
	// ServiceMapFoldInterval is how often the writers fold the minutes
	// written to into the per-minute service map (0: never; the map is
	// then joined from the spans at every read).
	ServiceMapFoldInterval time.Duration `koanf:"service-map-fold-interval"`
	// LLM, when a provider is set, writes each investigation's narrative
	// and may reorder its hypotheses (never adding any). The key comes
	// from INQUEST_LLM_API_KEY or a file.
	LLMProvider   string `koanf:"llm-provider"`
	LLMModel      string `koanf:"llm-model"`
	LLMBaseURL    string `koanf:"llm-base-url"`
	LLMAPIKey     string `koanf:"llm-api-key"`
	LLMAPIKeyFile string `koanf:"llm-api-key-file"`
	// Remediation: what carries out approved proposals (dry-run, the
	// default, or a signed webhook to a deployment system), and how long
	// verification waits for the expected effect.
	RemediationExecutor          string        `koanf:"remediation-executor"`
	RemediationWebhookURL        string        `koanf:"remediation-webhook-url"`
	RemediationWebhookSecret     string        `koanf:"remediation-webhook-secret"`
	RemediationWebhookSecretFile string        `koanf:"remediation-webhook-secret-file"`
	RemediationVerifyFor         time.Duration `koanf:"remediation-verify-for"`
	RemediationPolicyFile        string        `koanf:"remediation-policy-file"`
	RemediationRunbooksFile      string        `koanf:"remediation-runbooks-file"`
	RemediationKubeconfig        string        `koanf:"remediation-kubeconfig"`
	RemediationNamespace         string        `koanf:"remediation-namespace"`
	RemediationShellAllow        []string      `koanf:"remediation-shell-allow"`
	RemediationArgoCDURL         string        `koanf:"remediation-argocd-url"`
	RemediationArgoCDToken       string        `koanf:"remediation-argocd-token"`
	RemediationArgoCDTokenFile   string        `koanf:"remediation-argocd-token-file"`
	RemediationArgoCDAppPrefix   string        `koanf:"remediation-argocd-app-prefix"`
	// Slack: pending proposals are posted to SlackChannel with the bot
	// token; their buttons come back to /slack/interactions, signed with
	// the signing secret; SlackUsers maps Slack users to people.
	SlackBotToken         string   `koanf:"slack-bot-token"`
	SlackSigningSecret    string   `koanf:"slack-signing-secret"`
	SlackChannel          string   `koanf:"slack-channel"`
	SlackAPIURL           string   `koanf:"slack-api-url"`
	SlackUsers            []string `koanf:"slack-user"`
	NotifyWebhookURL      string   `koanf:"notify-webhook-url"`
	NotifySlackWebhookURL string   `koanf:"notify-slack-webhook-url"`
	PublicURL             string   `koanf:"public-url"`

	QueryCache     bool   `koanf:"query-cache"`
	QueryCacheSize int    `koanf:"query-cache-size"`
	RedisURL       string `koanf:"redis-url"`

	DuckDBThreads     int    `koanf:"duckdb-threads"`
	DuckDBMemoryLimit string `koanf:"duckdb-memory-limit"`
	DuckDBCheckpoint  string `koanf:"duckdb-checkpoint-threshold"`

	QueryTimeout       time.Duration `koanf:"query-timeout"`
	MaxQueryComplexity int           `koanf:"max-query-complexity"`
	MaxQueryDepth      int           `koanf:"max-query-depth"`
	MaxQueryRange      time.Duration `koanf:"max-query-range"`
	Introspection      bool          `koanf:"introspection"`
	// IngestRoleRequired refuses ingest from credentials without the
	// ingest role (otherwise any ranked role may send data too).
	IngestRoleRequired bool `koanf:"ingest-role-required"`
	// AuthRecheckInterval is how often a subscription made with an API key
	// checks that the key was not revoked.
	AuthRecheckInterval time.Duration `koanf:"auth-recheck-interval"`
	// MaxSubscriptionsPerTenant bounds a tenant's open subscriptions.
	MaxSubscriptionsPerTenant int `koanf:"max-subscriptions-per-tenant"`
	// MaxQueriesPerTenant bounds the queries reading stored rows that one
	// tenant runs at once; more wait, then are refused.
	MaxQueriesPerTenant int `koanf:"max-queries-per-tenant"`
	// TenantRetention overrides Retention for some tenants: "acme=720h"
	// (0h keeps a tenant's records forever).
	TenantRetention map[string]string `koanf:"tenant-retention"`
	// PruneInterval is how often records past their retention are deleted
	// from the embedded store; 0 never deletes.
	PruneInterval time.Duration `koanf:"prune-interval"`
	// ShutdownTimeout bounds the flush on SIGTERM (an orchestrator's stop
	// grace period is often 10 s; 30 s by default).
	ShutdownTimeout time.Duration `koanf:"shutdown-timeout"`
	// MemoryLimit is the process's soft memory limit (GOMEMLIMIT's): past
	// 90% of it ingest answers 503 and queries are refused; DuckDB gets
	// half of it. 0 leaves memory unbounded.
	MemoryLimit int64 `koanf:"memory-limit"`
	// QueueBytes bounds the memory of the records waiting for the writers.
	QueueBytes int64 `koanf:"queue-bytes"`
	// IngestWAL keeps what ingest acknowledged in a write-ahead log under
	// the data directory until it is stored, so that a crash loses none of
	// it (embedded bus; Kafka is the log in the scaled mode).
	IngestWAL bool `koanf:"ingest-wal"`
	// IngestWALFsync fsyncs the log (in groups) before acknowledging:
	// without it a process crash loses nothing, a machine crash may.
	IngestWALFsync bool `koanf:"ingest-wal-fsync"`
	// HTTPReadTimeout bounds reading one request, body included, so that a
	// client trickling a body cannot hold a connection open.
	HTTPReadTimeout time.Duration `koanf:"http-read-timeout"`
	AllowedOrigins  []string      `koanf:"allowed-origins"`

	// AuthJWTSecret enables HS256 bearer tokens; AuthJWTSecretFile reads it
	// from a file instead. Never logged.
	AuthJWTSecret     string        `koanf:"auth-jwt-secret"`
	AuthJWTSecretFile string        `koanf:"auth-jwt-secret-file"`
	AuthJWTPublicKeys []string      `koanf:"auth-jwt-public-key-file"`
	AuthJWKSURL       string        `koanf:"auth-jwks-url"`
	AuthJWKSRefresh   time.Duration `koanf:"auth-jwks-refresh"`
	AuthJWTIssuer     string        `koanf:"auth-jwt-issuer"`
	AuthJWTAudience   string        `koanf:"auth-jwt-audience"`
	InsecureNoAuth    bool          `koanf:"insecure-no-auth"`

	LogLevel  string `koanf:"log-level"`
	LogFormat string `koanf:"log-format"`
}

// Default is the embedded single-binary setup. Listeners bind to loopback:
// with no authentication yet, exposing them is an explicit choice.
func Default() Config {
	return Config{
		HTTPAddr:                  "127.0.0.1:8080",
		GRPCAddr:                  "127.0.0.1:4317",
		OTLPHTTPAddr:              "127.0.0.1:4318",
		DataDir:                   "./data",
		DemoFaultAfter:            5 * time.Minute,
		DemoRate:                  20,
		Retention:                 7 * 24 * time.Hour,
		MaxFuture:                 time.Hour,
		MaxBodyBytes:              16 << 20,
		MetricResourceAttributes:  otlp.DefaultPromoted(),
		QueueRecords:              500_000,
		BatchSize:                 10_000,
		FlushInterval:             time.Second,
		Writers:                   2,
		Role:                      "all",
		Detection:                 true,
		DetectionResolution:       10 * time.Second,
		DetectionMaxSeries:        10_000,
		DetectionResolveAfter:     5 * time.Minute,
		DetectionAdaptAfter:       2 * time.Hour,
		InvestigationWorkers:      2,
		InvestigateIncidents:      true,
		InvestigationSettle:       10 * time.Second,
		ServiceMapFoldInterval:    10 * time.Second,
		RemediationVerifyFor:      10 * time.Minute,
		RemediationNamespace:      "default",
		KafkaTopic:                "raw-telemetry",
		KafkaGroup:                "inquest-writers",
		KafkaCompression:          "zstd",
		KafkaPartitions:           12,
		DedupWindow:               10 * time.Minute,
		DuckDBCheckpoint:          "256MB",
		QueryCache:                true,
		QueryCacheSize:            1000,
		QueryTimeout:              30 * time.Second,
		MaxQueryComplexity:        2000,
		MaxQueryDepth:             12,
		MaxQueryRange:             31 * 24 * time.Hour,
		Introspection:             true,
		AuthRecheckInterval:       10 * time.Second,
		MaxSubscriptionsPerTenant: 100,
		MaxQueriesPerTenant:       8,
		HTTPReadTimeout:           time.Minute,
		QueueBytes:                512 << 20,
		ClickHouseQueryMemory:     2 << 30,
		IngestWAL:                 true,
		IngestWALFsync:            true,
		ShutdownTimeout:           30 * time.Second,
		PruneInterval:             time.Hour,
		LogLevel:                  "info",
		LogFormat:                 "text",
	}
}

// secret is a secret given directly or, when file is set, read from the
// file (trimmed); flag names the file's flag in errors.
func secret(value, file, flag string) (string, error) {
	if file == "" {
		return value, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", flag, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// RemediationWebhookKey returns the webhook's signing secret.
func (c Config) RemediationWebhookKey() ([]byte, error) {
	s, err := secret(c.RemediationWebhookSecret, c.RemediationWebhookSecretFile, "remediation-webhook-secret-file")
	return []byte(s), err
}

// RemediationArgoCDKey returns the Argo CD API token.
func (c Config) RemediationArgoCDKey() (string, error) {
	return secret(c.RemediationArgoCDToken, c.RemediationArgoCDTokenFile, "remediation-argocd-token-file")
}

// LLMKey returns the model's API key.
func (c Config) LLMKey() (string, error) {
	return secret(c.LLMAPIKey, c.LLMAPIKeyFile, "llm-api-key-file")
}

// JWTSecret returns the configured HS256 secret; empty when
// authentication is off.
func (c Config) JWTSecret() ([]byte, error) {
	s, err := secret(c.AuthJWTSecret, c.AuthJWTSecretFile, "auth-jwt-secret-file")
	return []byte(s), err
}

// Validate checks the configuration and names what is wrong.
func (c Config) Validate() error {
	var errs []string
	if c.DataDir == "" {
		errs = append(errs, "data-dir is required")
	}
	if _, err := c.Retentions(); err != nil {
		errs = append(errs, err.Error())
	}
	if c.PprofAddr != "" && !LoopbackAddr(c.PprofAddr) {
		errs = append(errs, fmt.Sprintf("pprof-addr %s must be a loopback address (the profiler has no authentication): "+
			"bind it to 127.0.0.1 and reach it through ssh or kubectl port-forward", c.PprofAddr))
	}
	if c.Demo && c.DemoRate <= 0 {
		errs = append(errs, "demo-rate must be positive")
	}
	if c.Retention <= 0 {
		errs = append(errs, "retention must be positive")
	}
	if c.MaxBodyBytes <= 0 || c.QueueRecords <= 0 || c.BatchSize <= 0 || c.Writers <= 0 {
		errs = append(errs, "max-body-bytes, queue-records, batch-size and writers must be positive")
	}
	if c.FlushInterval <= 0 || c.QueryTimeout <= 0 {
		errs = append(errs, "flush-interval and query-timeout must be positive")
	}
	if c.AuthJWTSecret != "" && c.AuthJWTSecretFile != "" {
		errs = append(errs, "set auth-jwt-secret or auth-jwt-secret-file, not both")
	}
	switch c.Role {
	case "all":
	case "gateway", "writer":
		if len(c.KafkaBrokers) == 0 {
			errs = append(errs, fmt.Sprintf("role %s needs kafka-brokers: gateways and writers meet on a Kafka topic", c.Role))
		}
	default:
		errs = append(errs, fmt.Sprintf("role %q: want gateway, writer or all", c.Role))
	}
	switch c.KafkaCompression {
	case "zstd", "lz4", "snappy", "gzip", "none":
	default:
		errs = append(errs, fmt.Sprintf("kafka-compression %q: want zstd, lz4, snappy, gzip or none", c.KafkaCompression))
	}
	if c.InvestigationWorkers < 1 {
		return fmt.Errorf("investigation-workers must be at least 1")
	}
	if c.ServiceMapFoldInterval < 0 {
		errs = append(errs, "service-map-fold-interval must not be negative (0 never folds)")
	}
	if c.InvestigationSettle < 0 {
		errs = append(errs, "investigation-settle must not be negative")
	}
	if c.DetectionAdaptAfter < 0 {
		errs = append(errs, "detection-adapt-after must not be negative (0 never adapts)")
	}
	if c.Detection && (c.DetectionResolution < time.Second || c.DetectionMaxSeries <= 0 || c.DetectionResolveAfter <= 0) {
		errs = append(errs, "detection-resolution must be at least 1s; detection-max-series and detection-resolve-after positive")
	}
	if c.ClickHouseCluster != "" && c.ClickHouseDSN == "" {
		errs = append(errs, "clickhouse-cluster needs clickhouse-dsn")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Sprintf("log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Sprintf("log-format %q: want text or json", c.LogFormat))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}

// RegisterFlags declares every setting as a flag, with its default.
func RegisterFlags(fs *pflag.FlagSet) {
	d := Default()
	fs.String("config", "", "YAML file with settings (keys as the flag names); flags and INQUEST_* variables override it")
	fs.String("http-addr", d.HTTPAddr, "address of GraphQL, the dashboard, JSON and remote-write ingest, OTLP/HTTP, health and metrics; empty disables it")
	fs.String("grpc-addr", d.GRPCAddr, "address of OTLP/gRPC; empty disables it")
	fs.String("otlp-http-addr", d.OTLPHTTPAddr, "address of OTLP/HTTP (also served on http-addr); empty disables it")
	fs.String("pprof-addr", d.PprofAddr, "loopback address of Go's profiler (/debug/pprof/, unauthenticated); empty disables it")
	fs.String("data-dir", d.DataDir, "directory of the embedded database")
	fs.Bool("demo", d.Demo, "run a built-in web-shop traffic generator that sends OTLP to this server")
	fs.Duration("demo-fault-after", d.DemoFaultAfter, "when the demo's fault (--demo-scenario) begins, after start")
	fs.Float64("demo-rate", d.DemoRate, "demo requests per second")
	fs.String("demo-scenario", d.DemoScenario, "the demo's fault: bad-deploy (default), slow-database, dependency-errors, cpu-saturation, traffic-surge, config-change, noisy-neighbour, two-faults")
	fs.Duration("retention", d.Retention, "how long records are kept after they were taken in (imports count from their import); live ingest refuses older records")
	fs.StringToString("tenant-retention", nil, "retention of some tenants, overriding --retention: acme=720h,globex=48h (0h: forever)")
	fs.Duration("prune-interval", d.PruneInterval, "how often records past their retention are deleted from the embedded store (0: never)")
	fs.Duration("max-future", d.MaxFuture, "how far in the future a timestamp may be")
	fs.Int64("max-body-bytes", d.MaxBodyBytes, "largest ingest request body, before and after decompression")
	fs.StringSlice("metric-resource-attribute", d.MetricResourceAttributes, "an OTLP resource attribute that labels every metric series of its resource (the others go on target_info); repeat, or comma-separate")
	fs.Int("queue-records", d.QueueRecords, "records that may wait for the writers before ingest answers 503")
	fs.Int("batch-size", d.BatchSize, "records per store write")
	fs.Duration("flush-interval", d.FlushInterval, "longest a record waits in a writer's batch")
	fs.Int("writers", d.Writers, "parallel store writers")
	fs.Duration("dedup-window", d.DedupWindow, "how long a record's content hash is remembered to drop retried duplicates; 0 disables")
	fs.Float64("tenant-events-per-second", 0, "records per second one tenant may send, answered with 429 past it (0: unlimited)")
	fs.Int("tenant-burst", 0, "records one tenant may send at once (0: the per-second rate, at least 1000)")
	fs.Int64("tenant-bytes-per-day", 0, "request bytes one tenant may send per UTC day (0: unlimited; counted in memory)")
	fs.String("role", d.Role, "gateway (ingest and queries), writer (Kafka to the stores) or all; gateway and writer need --kafka-brokers")
	fs.String("clickhouse-dsn", "", "store events, spans and logs in ClickHouse (clickhouse://user:pass@host:9000/inquest); the rest stays embedded")
	fs.String("clickhouse-cluster", "", "ClickHouse cluster name: tables are created ON CLUSTER with Distributed tables over per-shard ones")
	fs.Bool("clickhouse-replicated", false, "use ReplicatedReplacingMergeTree for the per-shard tables (needs Keeper and the {shard}/{replica} macros)")
	fs.Duration("clickhouse-ttl", 0, "ClickHouse 19.6+ deletes events older than this by event time (0: never; imported history older than it goes too)")
	fs.Int64("clickhouse-query-memory", d.ClickHouseQueryMemory, "memory one query may use on ClickHouse (its max_memory_usage, bytes; 0: the server's own default)")
	fs.String("victoriametrics-url", "", "store metrics in VictoriaMetrics (http://host:8428) and accept raw PromQL in metricSeries")
	fs.StringSlice("kafka-brokers", nil, "carry records from gateways to writers through Kafka or Redpanda (host:9092, repeatable)")
	fs.String("kafka-topic", d.KafkaTopic, "Kafka topic of validated records, created if missing")
	fs.String("kafka-group", d.KafkaGroup, "consumer group of the writers")
	fs.String("kafka-compression", d.KafkaCompression, "zstd, lz4, snappy, gzip or none")
	fs.Int("kafka-partitions", d.KafkaPartitions, "partitions of the topic when Inquest creates it")
	fs.Bool("detection", d.Detection, "watch every service, operation and metric for anomalies and group them into incidents")
	fs.Duration("detection-resolution", d.DetectionResolution, "step of the watched series")
	fs.Int("detection-max-series", d.DetectionMaxSeries, "series watched per tenant; more are counted in inquest_detection_unwatched_total")
	fs.Duration("detection-resolve-after", d.DetectionResolveAfter, "an incident resolves when its series have been back inside their bands this long")
	fs.Int("investigation-workers", d.InvestigationWorkers, "investigations each process runs at once (more wait, up to 64, then are refused)")
	fs.Bool("investigate-incidents", d.InvestigateIncidents, "investigate each incident by itself when it opens or gains services")
	fs.Duration("service-map-fold-interval", d.ServiceMapFoldInterval, "how often writers fold the minutes written to into the per-minute service map (0: never; every read then joins spans)")
	fs.Duration("investigation-settle", d.InvestigationSettle, "how long telemetry takes to arrive in full; investigations wait until their window's end is this far in the past")
	fs.String("llm-provider", d.LLMProvider, "a language model that writes investigations' narratives: openai (any OpenAI-compatible endpoint: vLLM, llama.cpp, Ollama's /v1), anthropic or ollama; empty: none, investigations write their own")
	fs.String("llm-model", d.LLMModel, "the model's name, such as gpt-4o-mini or claude-3-5-haiku-latest")
	fs.String("llm-base-url", d.LLMBaseURL, "the endpoint, such as http://127.0.0.1:8000/v1 for a local OpenAI-compatible server")
	fs.String("llm-api-key", d.LLMAPIKey, "the model's API key; prefer INQUEST_LLM_API_KEY or --llm-api-key-file (a flag shows in the process list)")
	_ = fs.MarkHidden("llm-api-key")
	fs.String("llm-api-key-file", d.LLMAPIKeyFile, "a file holding the model's API key")
	fs.String("remediation-executor", d.RemediationExecutor, "what carries out approved proposals: dry-run (records what would happen; the default, except with --demo, whose shop has a deploy API), webhook, argocd, shell, or kubernetes (in a binary built with -tags kubernetes)")
	fs.String("remediation-kubeconfig", d.RemediationKubeconfig, "the kubeconfig of the Kubernetes executor; in-cluster credentials when empty")
	fs.String("remediation-namespace", d.RemediationNamespace, "the namespace whose deployments the Kubernetes executor acts on")
	fs.StringSlice("remediation-shell-allow", d.RemediationShellAllow, "with --remediation-executor shell: the programs (absolute paths) runbook commands may run; nothing runs through a shell")
	fs.String("remediation-argocd-url", d.RemediationArgoCDURL, "with --remediation-executor argocd: Argo CD's URL (rollbacks sync the target's application to the version; restarts run the Deployment's restart action)")
	fs.String("remediation-argocd-token", d.RemediationArgoCDToken, "an Argo CD API token; prefer INQUEST_REMEDIATION_ARGOCD_TOKEN or the file")
	fs.String("remediation-argocd-token-file", d.RemediationArgoCDTokenFile, "a file holding the Argo CD API token")
	fs.String("remediation-argocd-app-prefix", d.RemediationArgoCDAppPrefix, "the Argo CD application of a service is this prefix and the service's name")
	fs.String("remediation-webhook-url", d.RemediationWebhookURL, "the deployment system's webhook (signed: X-Inquest-Signature sha256 HMAC of timestamp.body)")
	fs.String("remediation-webhook-secret", d.RemediationWebhookSecret, "the webhook's signing secret; prefer INQUEST_REMEDIATION_WEBHOOK_SECRET or the file")
	_ = fs.MarkHidden("remediation-webhook-secret")
	fs.String("remediation-webhook-secret-file", d.RemediationWebhookSecretFile, "a file holding the webhook's signing secret")
	fs.String("slack-bot-token", d.SlackBotToken, "the Slack app's bot token (xoxb-...) that posts pending proposals; prefer INQUEST_SLACK_BOT_TOKEN")
	_ = fs.MarkHidden("slack-bot-token")
	fs.String("slack-signing-secret", d.SlackSigningSecret, "the Slack app's signing secret, which /slack/interactions verifies requests with (INQUEST_SLACK_SIGNING_SECRET)")
	fs.String("slack-channel", d.SlackChannel, "the channel pending proposals are posted to")
	fs.String("slack-api-url", d.SlackAPIURL, "Slack's Web API base URL")
	fs.StringSlice("slack-user", d.SlackUsers, "a Slack user as an Inquest person: U024BE7LH=alice:responder,approver:team-lead (tenant/alice for another tenant); repeat")
	fs.String("remediation-policy-file", d.RemediationPolicyFile, "a YAML file of approval tiers (approvers, timeout, escalate_to per risk) and per-tenant tiers; the built-in tiers otherwise")
	fs.String("remediation-runbooks-file", d.RemediationRunbooksFile, "a YAML file of runbooks (match service/cause/tags, action, risk, params with {{previous_version}}...) proposed before the built-in catalog")
	fs.Duration("remediation-verify-for", d.RemediationVerifyFor, "how long verification waits for a remediation's effect before it fails and is rolled back")
	fs.Duration("detection-adapt-after", d.DetectionAdaptAfter, "a series that stays at a new level this long takes it as its normal (its anomaly ends); 0 never adapts, acceptNewNormal adapts at once")
	fs.String("notify-webhook-url", "", "POST incident changes as JSON to this URL")
	fs.String("notify-slack-webhook-url", "", "post incident changes to this Slack incoming webhook (Block Kit)")
	fs.String("public-url", "", "the address people open Inquest at (https://inquest.example.com), for links in notifications")
	fs.Bool("query-cache", d.QueryCache, "cache aggregate, services, service map and metric answers (ranges aligned to 10 s; answers near now may lag up to 5 s, late data in past ranges up to 1 min)")
	fs.Int("query-cache-size", d.QueryCacheSize, "answers the in-process query cache keeps")
	fs.String("redis-url", "", "share the query cache through Redis (redis://host:6379/0); a Redis failure is a cache miss")
	fs.Int("duckdb-threads", d.DuckDBThreads, "threads DuckDB may use (0: all cores)")
	fs.String("duckdb-memory-limit", d.DuckDBMemoryLimit, "DuckDB memory limit such as 4GB (empty: DuckDB's default)")
	fs.String("duckdb-checkpoint-threshold", d.DuckDBCheckpoint, "write-ahead log size that triggers a DuckDB checkpoint; larger ingests faster and holds more in memory")
	fs.Duration("query-timeout", d.QueryTimeout, "longest a GraphQL query or mutation may run")
	fs.Int("max-query-complexity", d.MaxQueryComplexity, "GraphQL complexity limit")
	fs.Int("max-query-depth", d.MaxQueryDepth, "deepest nesting of fields a GraphQL operation may have")
	fs.Duration("max-query-range", d.MaxQueryRange, "longest time range one query may cover")
	fs.Bool("introspection", d.Introspection, "allow GraphQL introspection (to a credential with a role, or anyone in development mode)")
	fs.Bool("ingest-role-required", false, "accept data only from credentials with the ingest role (otherwise viewer and above may send too)")
	fs.Duration("auth-recheck-interval", d.AuthRecheckInterval, "how often a subscription made with an API key checks that the key was not revoked (tokens end at their exp)")
	fs.Int("max-subscriptions-per-tenant", d.MaxSubscriptionsPerTenant, "open subscriptions (tail, anomalies, incidents) a tenant may hold at once")
	fs.Int("max-queries-per-tenant", d.MaxQueriesPerTenant, "queries reading stored rows a tenant may run at once; more wait up to 10 s for a slot, then are refused (0: no limit)")
	fs.Duration("shutdown-timeout", d.ShutdownTimeout, "longest the flush on SIGTERM may take before the process exits (match the orchestrator's grace period)")
	fs.Int64("memory-limit", 0, "soft memory limit in bytes: past 90% ingest answers 503 and queries are refused; DuckDB gets half (0: unbounded)")
	fs.Int64("queue-bytes", d.QueueBytes, "memory the records waiting for the writers may hold before ingest answers 503 (embedded bus)")
	fs.Bool("ingest-wal", d.IngestWAL, "acknowledge ingest only once the records are in a write-ahead log under data-dir, replayed at start (embedded bus)")
	fs.Bool("ingest-wal-fsync", d.IngestWALFsync, "fsync the write-ahead log (in groups) before acknowledging: off survives a process crash, not a machine crash")
	fs.Duration("http-read-timeout", d.HTTPReadTimeout, "longest time to read one HTTP request, body included (streams and websockets are not cut)")
	fs.StringSlice("allowed-origins", d.AllowedOrigins, "browser origins, besides the server's own, allowed to send data and open GraphQL websockets")
	fs.String("auth-jwt-secret", "", "enable authentication with HS256 bearer tokens signed with this secret (32+ bytes; prefer INQUEST_AUTH_JWT_SECRET or --auth-jwt-secret-file)")
	fs.String("auth-jwt-secret-file", "", "read the HS256 secret from this file")
	fs.StringSlice("auth-jwt-public-key-file", nil, "PEM file of an RSA or EC public key accepting RS256/ES256 tokens (repeatable)")
	fs.String("auth-jwks-url", "", "identity provider's JWKS URL accepting RS256/ES256 tokens, cached and refreshed")
	fs.Duration("auth-jwks-refresh", time.Hour, "how often the JWKS is refreshed (also on an unknown kid, at most once a minute)")
	fs.String("auth-jwt-issuer", "", "required iss claim of tokens")
	fs.String("auth-jwt-audience", "", "required aud claim of tokens")
	fs.Bool("insecure-no-auth", false, "allow listening on a non-loopback address without authentication")
	fs.String("log-level", d.LogLevel, "debug, info, warn or error")
	fs.String("log-format", d.LogFormat, "text or json")
}

// Retentions reads --retention and --tenant-retention into the store's
// terms.
func (c Config) Retentions() (storage.Retention, error) {
	r := storage.Retention{Default: c.Retention, Tenants: map[string]time.Duration{}}
	for tenant, v := range c.TenantRetention {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return r, fmt.Errorf("tenant-retention %s=%s: want a duration such as 720h", tenant, v)
		}
		r.Tenants[tenant] = d
	}
	return r, nil
}

// RegisterFlagsOnly registers the named settings alone, for commands to
// which only a few of them apply (`inquest import --help` should not list
// listeners and detection). Load works on such a set as on the full one.
func RegisterFlagsOnly(fs *pflag.FlagSet, names ...string) {
	all := pflag.NewFlagSet("all", pflag.ContinueOnError)
	RegisterFlags(all)
	for _, n := range names {
		f := all.Lookup(n)
		if f == nil {
			panic("config: no setting " + n) // a programming error in cmd/, caught by its tests
		}
		fs.AddFlag(f)
	}
}

// Load reads the configuration: defaults, then the YAML file named by
// --config (or INQUEST_CONFIG), then INQUEST_* variables, then flags that
// were set on the command line.
func Load(fs *pflag.FlagSet) (Config, error) {
	k := koanf.New(".")
	path, _ := fs.GetString("config")
	if path == "" {
		path = os.Getenv("INQUEST_CONFIG")
	}
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("read config %s: %w", path, err)
		}
	}
	if err := k.Load(env.Provider(".", env.Opt{
		Prefix: "INQUEST_",
		TransformFunc: func(key, v string) (string, any) {
			key = strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(key, "INQUEST_")), "_", "-")
			if key == "config" {
				return "", nil
			}
			if f := fs.Lookup(key); f != nil && f.Value.Type() == "stringSlice" {
				return key, strings.Split(v, ",")
			}
			return key, v
		},
	}), nil); err != nil {
		return Config{}, fmt.Errorf("read environment: %w", err)
	}
	if err := k.Load(posflag.Provider(fs, ".", k), nil); err != nil {
		return Config{}, fmt.Errorf("read flags: %w", err)
	}
	cfg := Default()
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	known := map[string]bool{"config": true}
	fs.VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
	for _, key := range k.Keys() {
		if !known[key] {
			return Config{}, fmt.Errorf("config: unknown setting %q", key)
		}
	}
	return cfg, cfg.Validate()
}

// LoopbackAddr reports whether a listen address accepts local connections
// only.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

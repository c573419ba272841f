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
	// half of it. 0 derives it from the container's cgroup limit or the
	// machine's memory (three quarters of it); a negative value turns the
	// guard off.
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
	AuthJWTLeeway     time.Duration `koanf:"auth-jwt-leeway"`
	AuthJWTIssuer     string        `koanf:"auth-jwt-issuer"`
	AuthJWTAudience   string        `koanf:"auth-jwt-audience"`
	InsecureNoAuth    bool          `koanf:"insecure-no-auth"`

	LogLevel  string `koanf:"log-level"`
	LogFormat string `koanf:"log-format"`
}

// Default is the embedded single-binary setup, every setting at the
// default its declaration gives.
func Default() Config {
	var c Config
	for _, s := range c.settings() {
		s.setDefault()
	}
	return c
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
	for _, st := range c.settings() {
		if st.rule != nil {
			if err := st.rule(st.name, st.current()); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
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
	if c.AuthJWTSecret != "" && c.AuthJWTSecretFile != "" {
		errs = append(errs, "set auth-jwt-secret or auth-jwt-secret-file, not both")
	}
	if (c.Role == "gateway" || c.Role == "writer") && len(c.KafkaBrokers) == 0 {
		errs = append(errs, fmt.Sprintf("role %s needs kafka-brokers: gateways and writers meet on a Kafka topic", c.Role))
	}
	if c.Detection && (c.DetectionResolution < time.Second || c.DetectionMaxSeries <= 0 || c.DetectionResolveAfter <= 0) {
		errs = append(errs, "detection-resolution must be at least 1s; detection-max-series and detection-resolve-after positive")
	}
	if c.ClickHouseCluster != "" && c.ClickHouseDSN == "" {
		errs = append(errs, "clickhouse-cluster needs clickhouse-dsn")
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}

// RegisterFlags declares every setting as a flag, with its default.
func RegisterFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "YAML file with settings (keys as the flag names); flags and INQUEST_* variables override it")
	var c Config
	for _, s := range c.settings() {
		s.register(fs)
		if s.hidden {
			_ = fs.MarkHidden(s.name)
		}
	}
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
			if f := fs.Lookup(key); f != nil && f.Value.Type() == "stringArray" {
				return key, strings.Fields(v) // values that may hold commas
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

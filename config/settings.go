package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/inquest/inquest/ingest/otlp"
)

// setting is one configuration setting, declared once: its name — the
// flag, the key of the YAML file and, upper-cased with underscores,
// INQUEST_NAME in the environment —, its default, what it is for, and the
// rule its value must keep. Default, RegisterFlags and Validate all read
// the one table (Config.settings); a test holds the struct's koanf keys to
// it.
type setting struct {
	name       string
	hidden     bool
	setDefault func()
	register   func(fs *pflag.FlagSet)
	current    func() any
	rule       func(name string, v any) error
}

// hide keeps a setting out of --help: a secret given as a flag shows in
// the process list, so the environment or a file is the way to pass it.
func (s setting) hide() setting { s.hidden = true; return s }

// must gives the setting a rule of its own; rules across settings stay in
// Validate.
func (s setting) must(rule func(name string, v any) error) setting { s.rule = rule; return s }

func declare[T any](p *T, name string, def T, usage string, add func(fs *pflag.FlagSet, name string, def T, usage string)) setting {
	return setting{name: name,
		setDefault: func() { *p = def },
		register:   func(fs *pflag.FlagSet) { add(fs, name, def, usage) },
		current:    func() any { return *p }}
}

func str(p *string, name, def, usage string) setting {
	return declare(p, name, def, usage, func(fs *pflag.FlagSet, n, d, u string) { fs.String(n, d, u) })
}

func boolean(p *bool, name string, def bool, usage string) setting {
	return declare(p, name, def, usage, func(fs *pflag.FlagSet, n string, d bool, u string) { fs.Bool(n, d, u) })
}

func integer(p *int, name string, def int, usage string) setting {
	return declare(p, name, def, usage, func(fs *pflag.FlagSet, n string, d int, u string) { fs.Int(n, d, u) })
}

func int64s(p *int64, name string, def int64, usage string) setting {
	return declare(p, name, def, usage, func(fs *pflag.FlagSet, n string, d int64, u string) { fs.Int64(n, d, u) })
}

func float(p *float64, name string, def float64, usage string) setting {
	return declare(p, name, def, usage, func(fs *pflag.FlagSet, n string, d float64, u string) { fs.Float64(n, d, u) })
}

func duration(p *time.Duration, name string, def time.Duration, usage string) setting {
	return declare(p, name, def, usage, func(fs *pflag.FlagSet, n string, d time.Duration, u string) { fs.Duration(n, d, u) })
}

func list(p *[]string, name string, def []string, usage string) setting {
	return declare(p, name, def, usage, func(fs *pflag.FlagSet, n string, d []string, u string) { fs.StringSlice(n, d, u) })
}

// repeated is a list whose values may hold commas: one value per flag,
// not comma-split as list is.
func repeated(p *[]string, name string, def []string, usage string) setting {
	return declare(p, name, def, usage, func(fs *pflag.FlagSet, n string, d []string, u string) { fs.StringArray(n, d, u) })
}

func stringMap(p *map[string]string, name string, def map[string]string, usage string) setting {
	return declare(p, name, def, usage, func(fs *pflag.FlagSet, n string, d map[string]string, u string) { fs.StringToString(n, d, u) })
}

// Rules of one setting.

func positive(name string, v any) error {
	switch x := v.(type) {
	case int:
		if x > 0 {
			return nil
		}
	case int64:
		if x > 0 {
			return nil
		}
	case time.Duration:
		if x > 0 {
			return nil
		}
	}
	return fmt.Errorf("%s must be positive", name)
}

func notNegative(name string, v any) error {
	if d, ok := v.(time.Duration); ok && d < 0 {
		return fmt.Errorf("%s must not be negative (0 turns it off)", name)
	}
	return nil
}

func oneOf(values ...string) func(string, any) error {
	return func(name string, v any) error {
		for _, ok := range values {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("%s %q: want %s or %s", name, v, strings.Join(values[:len(values)-1], ", "), values[len(values)-1])
	}
}

// settings is every setting of c, in --help's order. Listeners bind to
// loopback by default: with no authentication yet, exposing them is an
// explicit choice.
func (c *Config) settings() []setting {
	return []setting{
		str(&c.HTTPAddr, "http-addr", "127.0.0.1:8080", "address of GraphQL, the dashboard, JSON and remote-write ingest, OTLP/HTTP, health and metrics; empty disables it"),
		str(&c.GRPCAddr, "grpc-addr", "127.0.0.1:4317", "address of OTLP/gRPC; empty disables it"),
		str(&c.OTLPHTTPAddr, "otlp-http-addr", "127.0.0.1:4318", "address of OTLP/HTTP (also served on http-addr); empty disables it"),
		str(&c.PprofAddr, "pprof-addr", "", "loopback address of Go's profiler (/debug/pprof/, unauthenticated); empty disables it"),
		str(&c.DataDir, "data-dir", "./data", "directory of the embedded database"),
		boolean(&c.Demo, "demo", false, "run a built-in web-shop traffic generator that sends OTLP to this server"),
		duration(&c.DemoFaultAfter, "demo-fault-after", 5*time.Minute, "when the demo's fault (--demo-scenario) begins, after start"),
		float(&c.DemoRate, "demo-rate", 20, "demo requests per second"),
		str(&c.DemoScenario, "demo-scenario", "", "the demo's fault: bad-deploy (default), slow-database, dependency-errors, cpu-saturation, traffic-surge, config-change, noisy-neighbour, two-faults"),
		duration(&c.Retention, "retention", 7*24*time.Hour, "how long records are kept after they were taken in (imports count from their import); live ingest refuses older records").must(positive),
		stringMap(&c.TenantRetention, "tenant-retention", nil, "retention of some tenants, overriding --retention: acme=720h,globex=48h (0h: forever)"),
		duration(&c.PruneInterval, "prune-interval", time.Hour, "how often records past their retention are deleted from the embedded store (0: never)"),
		duration(&c.MaxFuture, "max-future", time.Hour, "how far in the future a timestamp may be"),
		int64s(&c.MaxBodyBytes, "max-body-bytes", 16<<20, "largest ingest request body, before and after decompression").must(positive),
		list(&c.MetricResourceAttributes, "metric-resource-attribute", otlp.DefaultPromoted(), "an OTLP resource attribute that labels every metric series of its resource (the others go on target_info); repeat, or comma-separate"),
		integer(&c.QueueRecords, "queue-records", 500_000, "records that may wait for the writers before ingest answers 503").must(positive),
		integer(&c.BatchSize, "batch-size", 10_000, "records per store write").must(positive),
		duration(&c.FlushInterval, "flush-interval", time.Second, "longest a record waits in a writer's batch").must(positive),
		integer(&c.Writers, "writers", 2, "parallel store writers").must(positive),
		duration(&c.DedupWindow, "dedup-window", 10*time.Minute, "how long a record's content hash is remembered to drop retried duplicates; 0 disables"),
		float(&c.TenantEventsPerSecond, "tenant-events-per-second", 0, "records per second one tenant may send, answered with 429 past it (0: unlimited)"),
		integer(&c.TenantBurst, "tenant-burst", 0, "records one tenant may send at once (0: the per-second rate, at least 1000)"),
		int64s(&c.TenantBytesPerDay, "tenant-bytes-per-day", 0, "request bytes one tenant may send per UTC day (0: unlimited; counted in memory)"),
		str(&c.Role, "role", "all", "gateway (ingest and queries), writer (Kafka to the stores) or all; gateway and writer need --kafka-brokers").must(oneOf("gateway", "writer", "all")),
		str(&c.ClickHouseDSN, "clickhouse-dsn", "", "store events, spans and logs in ClickHouse (clickhouse://user:pass@host:9000/inquest); the rest stays embedded"),
		str(&c.ClickHouseCluster, "clickhouse-cluster", "", "ClickHouse cluster name: tables are created ON CLUSTER with Distributed tables over per-shard ones"),
		boolean(&c.ClickHouseReplicated, "clickhouse-replicated", false, "use ReplicatedReplacingMergeTree for the per-shard tables (needs Keeper and the {shard}/{replica} macros)"),
		duration(&c.ClickHouseTTL, "clickhouse-ttl", 0, "ClickHouse 19.6+ deletes events older than this by event time (0: never; imported history older than it goes too)"),
		int64s(&c.ClickHouseQueryMemory, "clickhouse-query-memory", 2<<30, "memory one query may use on ClickHouse (its max_memory_usage, bytes; 0: the server's own default)"),
		str(&c.VictoriaMetricsURL, "victoriametrics-url", "", "store metrics in VictoriaMetrics (http://host:8428) and accept raw PromQL in metricSeries"),
		list(&c.KafkaBrokers, "kafka-brokers", nil, "carry records from gateways to writers through Kafka or Redpanda (host:9092, repeatable)"),
		str(&c.KafkaTopic, "kafka-topic", "raw-telemetry", "Kafka topic of validated records, created if missing"),
		str(&c.KafkaGroup, "kafka-group", "inquest-writers", "consumer group of the writers"),
		str(&c.KafkaCompression, "kafka-compression", "zstd", "zstd, lz4, snappy, gzip or none").must(oneOf("zstd", "lz4", "snappy", "gzip", "none")),
		integer(&c.KafkaPartitions, "kafka-partitions", 12, "partitions of the topic when Inquest creates it"),
		boolean(&c.Detection, "detection", true, "watch every service, operation and metric for anomalies and group them into incidents"),
		duration(&c.DetectionResolution, "detection-resolution", 10*time.Second, "step of the watched series"),
		integer(&c.DetectionMaxSeries, "detection-max-series", 10_000, "series watched per tenant; more are counted in inquest_detection_unwatched_total"),
		duration(&c.DetectionResolveAfter, "detection-resolve-after", 5*time.Minute, "an incident resolves when its series have been back inside their bands this long"),
		integer(&c.InvestigationWorkers, "investigation-workers", 2, "investigations each process runs at once (more wait, up to 64, then are refused)").must(positive),
		boolean(&c.InvestigateIncidents, "investigate-incidents", true, "investigate each incident by itself when it opens or gains services"),
		duration(&c.ServiceMapFoldInterval, "service-map-fold-interval", 10*time.Second, "how often writers fold the minutes written to into the per-minute service map (0: never; every read then joins spans)").must(notNegative),
		duration(&c.InvestigationSettle, "investigation-settle", 10*time.Second, "how long telemetry takes to arrive in full; investigations wait until their window's end is this far in the past").must(notNegative),
		str(&c.LLMProvider, "llm-provider", "", "a language model that writes investigations' narratives: openai (any OpenAI-compatible endpoint: vLLM, llama.cpp, Ollama's /v1), anthropic or ollama; empty: none, investigations write their own"),
		str(&c.LLMModel, "llm-model", "", "the model's name, such as gpt-4o-mini or claude-3-5-haiku-latest"),
		str(&c.LLMBaseURL, "llm-base-url", "", "the endpoint, such as http://127.0.0.1:8000/v1 for a local OpenAI-compatible server"),
		str(&c.LLMAPIKey, "llm-api-key", "", "the model's API key; prefer INQUEST_LLM_API_KEY or --llm-api-key-file (a flag shows in the process list)").hide(),
		str(&c.LLMAPIKeyFile, "llm-api-key-file", "", "a file holding the model's API key"),
		str(&c.RemediationExecutor, "remediation-executor", "", "what carries out approved proposals: dry-run (records what would happen; the default, except with --demo, whose shop has a deploy API), webhook, argocd, shell, or kubernetes (in a binary built with -tags kubernetes)"),
		str(&c.RemediationKubeconfig, "remediation-kubeconfig", "", "the kubeconfig of the Kubernetes executor; in-cluster credentials when empty"),
		str(&c.RemediationNamespace, "remediation-namespace", "default", "the namespace whose deployments the Kubernetes executor acts on"),
		list(&c.RemediationShellAllow, "remediation-shell-allow", nil, "with --remediation-executor shell: the programs (absolute paths) runbook commands may run; nothing runs through a shell"),
		str(&c.RemediationArgoCDURL, "remediation-argocd-url", "", "with --remediation-executor argocd: Argo CD's URL (rollbacks sync the target's application to the version; restarts run the Deployment's restart action)"),
		str(&c.RemediationArgoCDToken, "remediation-argocd-token", "", "an Argo CD API token; prefer INQUEST_REMEDIATION_ARGOCD_TOKEN or the file"),
		str(&c.RemediationArgoCDTokenFile, "remediation-argocd-token-file", "", "a file holding the Argo CD API token"),
		str(&c.RemediationArgoCDAppPrefix, "remediation-argocd-app-prefix", "", "the Argo CD application of a service is this prefix and the service's name"),
		str(&c.RemediationWebhookURL, "remediation-webhook-url", "", "the deployment system's webhook (signed: X-Inquest-Signature sha256 HMAC of timestamp.body)"),
		str(&c.RemediationWebhookSecret, "remediation-webhook-secret", "", "the webhook's signing secret; prefer INQUEST_REMEDIATION_WEBHOOK_SECRET or the file").hide(),
		str(&c.RemediationWebhookSecretFile, "remediation-webhook-secret-file", "", "a file holding the webhook's signing secret"),
		str(&c.SlackBotToken, "slack-bot-token", "", "the Slack app's bot token (xoxb-...) that posts pending proposals; prefer INQUEST_SLACK_BOT_TOKEN").hide(),
		str(&c.SlackSigningSecret, "slack-signing-secret", "", "the Slack app's signing secret, which /slack/interactions verifies requests with (INQUEST_SLACK_SIGNING_SECRET)"),
		str(&c.SlackChannel, "slack-channel", "", "the channel pending proposals are posted to"),
		str(&c.SlackAPIURL, "slack-api-url", "", "Slack's Web API base URL"),
		repeated(&c.SlackUsers, "slack-user", nil, "a Slack user as an Inquest person: U024BE7LH=alice:responder,approver:team-lead (tenant/alice for another tenant); repeat the flag for each (commas are part of the value; in INQUEST_SLACK_USER separate users with spaces)"),
		str(&c.RemediationPolicyFile, "remediation-policy-file", "", "a YAML file of approval tiers (approvers, timeout, escalate_to per risk) and per-tenant tiers; the built-in tiers otherwise"),
		str(&c.RemediationRunbooksFile, "remediation-runbooks-file", "", "a YAML file of runbooks (match service/cause/tags, action, risk, params with {{previous_version}}...) proposed before the built-in catalog"),
		duration(&c.RemediationVerifyFor, "remediation-verify-for", 10*time.Minute, "how long verification waits for a remediation's effect before it fails and is rolled back"),
		duration(&c.DetectionAdaptAfter, "detection-adapt-after", 2*time.Hour, "a series that stays at a new level this long takes it as its normal (its anomaly ends); 0 never adapts, acceptNewNormal adapts at once").must(notNegative),
		str(&c.NotifyWebhookURL, "notify-webhook-url", "", "POST incident changes as JSON to this URL"),
		str(&c.NotifySlackWebhookURL, "notify-slack-webhook-url", "", "post incident changes to this Slack incoming webhook (Block Kit)"),
		str(&c.PublicURL, "public-url", "", "the address people open Inquest at (https://inquest.example.com), for links in notifications"),
		boolean(&c.QueryCache, "query-cache", true, "cache aggregate, services, service map and metric answers (ranges aligned to 10 s; answers near now may lag up to 5 s, late data in past ranges up to 1 min)"),
		integer(&c.QueryCacheSize, "query-cache-size", 1000, "answers the in-process query cache keeps"),
		str(&c.RedisURL, "redis-url", "", "keep what replicas share in Redis (redis://host:6379/0): incidents, investigations, proposals and their approvals, settings, the live tail and update streams, the detectors' leader lock, and the query cache (a failed cache read is a miss)"),
		integer(&c.DuckDBThreads, "duckdb-threads", 0, "threads DuckDB may use (0: all cores)"),
		str(&c.DuckDBMemoryLimit, "duckdb-memory-limit", "", "DuckDB memory limit such as 4GB (empty: DuckDB's default)"),
		str(&c.DuckDBCheckpoint, "duckdb-checkpoint-threshold", "256MB", "write-ahead log size that triggers a DuckDB checkpoint; larger ingests faster and holds more in memory"),
		duration(&c.QueryTimeout, "query-timeout", 30*time.Second, "longest a GraphQL query or mutation may run").must(positive),
		integer(&c.MaxQueryComplexity, "max-query-complexity", 2000, "GraphQL complexity limit"),
		integer(&c.MaxQueryDepth, "max-query-depth", 12, "deepest nesting of fields a GraphQL operation may have"),
		duration(&c.MaxQueryRange, "max-query-range", 31*24*time.Hour, "longest time range one query may cover"),
		boolean(&c.Introspection, "introspection", true, "allow GraphQL introspection (to a credential with a role, or anyone in development mode)"),
		boolean(&c.IngestRoleRequired, "ingest-role-required", false, "accept data only from credentials with the ingest role (otherwise viewer and above may send too)"),
		duration(&c.AuthRecheckInterval, "auth-recheck-interval", 10*time.Second, "how often a subscription made with an API key checks that the key was not revoked (tokens end at their exp)"),
		integer(&c.MaxSubscriptionsPerTenant, "max-subscriptions-per-tenant", 100, "open subscriptions (tail, anomalies, incidents) a tenant may hold at once"),
		integer(&c.MaxQueriesPerTenant, "max-queries-per-tenant", 8, "queries reading stored rows a tenant may run at once; more wait up to 10 s for a slot, then are refused (0: no limit)"),
		duration(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "longest the flush on SIGTERM may take before the process exits (match the orchestrator's grace period)"),
		int64s(&c.MemoryLimit, "memory-limit", 0, "soft memory limit in bytes: past 90% ingest answers 503 and queries are refused; DuckDB gets half (0: three quarters of the container's cgroup limit or the machine's memory; -1: off)"),
		int64s(&c.QueueBytes, "queue-bytes", 512<<20, "memory the records waiting for the writers may hold before ingest answers 503 (embedded bus)"),
		boolean(&c.IngestWAL, "ingest-wal", true, "acknowledge ingest only once the records are in a write-ahead log under data-dir, replayed at start (embedded bus)"),
		boolean(&c.IngestWALFsync, "ingest-wal-fsync", true, "fsync the write-ahead log (in groups) before acknowledging: off survives a process crash, not a machine crash"),
		duration(&c.HTTPReadTimeout, "http-read-timeout", time.Minute, "longest time to read one HTTP request, body included (streams and websockets are not cut)"),
		list(&c.AllowedOrigins, "allowed-origins", nil, "browser origins, besides the server's own, allowed to send data and open GraphQL websockets"),
		str(&c.AuthJWTSecret, "auth-jwt-secret", "", "enable authentication with HS256 bearer tokens signed with this secret (32+ bytes; prefer INQUEST_AUTH_JWT_SECRET or --auth-jwt-secret-file)"),
		str(&c.AuthJWTSecretFile, "auth-jwt-secret-file", "", "read the HS256 secret from this file"),
		list(&c.AuthJWTPublicKeys, "auth-jwt-public-key-file", nil, "PEM file of an RSA or EC public key accepting RS256/ES256 tokens (repeatable)"),
		str(&c.AuthJWKSURL, "auth-jwks-url", "", "identity provider's JWKS URL accepting RS256/ES256 tokens, cached and refreshed"),
		duration(&c.AuthJWTLeeway, "auth-jwt-leeway", 30*time.Second, "how long after its exp (or before its nbf) a token still passes, for clock skew between the identity provider and Inquest (0: none)").must(notNegative),
		duration(&c.AuthJWKSRefresh, "auth-jwks-refresh", time.Hour, "how often the JWKS is refreshed (also on an unknown kid, at most once a minute)"),
		str(&c.AuthJWTIssuer, "auth-jwt-issuer", "", "required iss claim of tokens"),
		str(&c.AuthJWTAudience, "auth-jwt-audience", "", "required aud claim of tokens"),
		boolean(&c.InsecureNoAuth, "insecure-no-auth", false, "allow listening on a non-loopback address without authentication"),
		str(&c.LogLevel, "log-level", "info", "debug, info, warn or error").must(oneOf("debug", "info", "warn", "error")),
		str(&c.LogFormat, "log-format", "text", "text or json").must(oneOf("text", "json")),
	}
}

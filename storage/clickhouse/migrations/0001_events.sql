-- Wide events: spans, logs and events in one table, as in the embedded
-- store. Partitioned by day; ordered for the common queries (a tenant's
-- service and operation over time). ReplacingMergeTree keyed on the
-- content hash removes the copies that a retried insert can leave.
-- Timestamps are Unix nanoseconds; attributes are parallel arrays.
CREATE TABLE IF NOT EXISTS {{.Local "events"}}{{.OnCluster}} (
    tenant_id      {{.LowCard}},
    ts             Int64 {{.Codec "Delta, ZSTD(1)"}},
    kind           {{.LowCard}},
    service        {{.LowCard}},
    name           {{.LowCard}},
    trace_id       String {{.Codec "ZSTD(1)"}},
    span_id        String {{.Codec "ZSTD(1)"}},
    parent_span_id String {{.Codec "ZSTD(1)"}},
    duration_ns    Nullable(Int64),
    status         {{.LowCard}},
    severity       {{.LowCard}},
    body           String {{.Codec "ZSTD(1)"}},
    attr_keys      Array({{.LowCard}}),
    attr_vals      Array(String) {{.Codec "ZSTD(1)"}},
    num_keys       Array({{.LowCard}}),
    num_vals       Array(Float64),
    res_keys       Array({{.LowCard}}),
    res_vals       Array(String) {{.Codec "ZSTD(1)"}},
    sample_rate    Float64,
    event_id       UInt64
    {{- if .SkipIndexes}},
    INDEX trace_id_bf trace_id TYPE bloom_filter(0.01) GRANULARITY 1{{end}}
) ENGINE = {{.Engine "ReplacingMergeTree" "events"}}
PARTITION BY toDate(intDiv(ts, 1000000000))
ORDER BY (tenant_id, service, name, ts, event_id)
{{- if .TTLDays}}
TTL toDate(intDiv(ts, 1000000000)) + INTERVAL {{.TTLDays}} DAY{{end}}
{{- if .DedupWindow}}
SETTINGS non_replicated_deduplication_window = 1000{{end}}

-- Trace lookup without a scan on every server version: a materialized view
-- keeps, per insert block, each trace's time span; a trace query reads the
-- index by its primary key and then only the partitions and time range the
-- trace covers.
CREATE TABLE IF NOT EXISTS {{.Local "trace_index"}}{{.OnCluster}} (
    tenant_id {{.LowCard}},
    trace_id  String,
    ts_min    Int64,
    ts_max    Int64
) ENGINE = {{.Engine "MergeTree" "trace_index"}}
PARTITION BY toDate(intDiv(ts_min, 1000000000))
ORDER BY (tenant_id, trace_id)
{{- if .TTLDays}}
TTL toDate(intDiv(ts_min, 1000000000)) + INTERVAL {{.TTLDays}} DAY{{end}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Local "trace_index_mv"}}{{.OnCluster}} TO {{.Local "trace_index"}} AS
SELECT tenant_id, trace_id, min(ts) AS ts_min, max(ts) AS ts_max
FROM {{.Local "events"}}
WHERE trace_id != ''
GROUP BY tenant_id, trace_id

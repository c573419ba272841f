-- Cluster mode only: the tables queries and inserts use are Distributed
-- over the shards' local tables. Spans of one trace go to one shard, so a
-- trace and its parent/child joins stay shard-local.
{{- if .Cluster}}
CREATE TABLE IF NOT EXISTS {{.DB}}.events{{.OnCluster}} AS {{.Local "events"}}
ENGINE = Distributed({{.Cluster}}, {{.DB}}, events_local, cityHash64(tenant_id, trace_id));

CREATE TABLE IF NOT EXISTS {{.DB}}.trace_index{{.OnCluster}} AS {{.Local "trace_index"}}
ENGINE = Distributed({{.Cluster}}, {{.DB}}, trace_index_local, cityHash64(tenant_id, trace_id))
{{- end}}

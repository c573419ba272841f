-- The service map kept per minute (storage/edges.go). edges holds each
-- minute's caller → callee calls by duration bucket, edge_hours each
-- hour's (the sum of its minutes'), one row an edge with its buckets in
-- arrays (summed with sumMap: a week is a few thousand rows); a minute or
-- hour folded again replaces its rows (the higher version).
-- edge_marks are the minutes writes touched, edge_folds up to which touch
-- each minute was folded: a minute is still to fold (and is joined live)
-- while its latest touch is newer than its latest fold.
CREATE TABLE IF NOT EXISTS {{.Local "edges"}}{{.OnCluster}} (
    tenant_id {{.LowCard}},
    minute    Int64,
    source    {{.LowCard}},
    target    {{.LowCard}},
    bucket    Int32,
    calls     Float64,
    errors    Float64,
    version   Int64
) ENGINE = {{.EngineVersioned "ReplacingMergeTree" "edges" "version"}}
PARTITION BY toDate(intDiv(minute, 1000000000))
ORDER BY (tenant_id, minute, source, target, bucket);

CREATE TABLE IF NOT EXISTS {{.Local "edge_hours"}}{{.OnCluster}} (
    tenant_id {{.LowCard}},
    hour      Int64,
    source    {{.LowCard}},
    target    {{.LowCard}},
    buckets   Array(Int32),
    calls     Array(Float64),
    errors    Float64,
    version   Int64
) ENGINE = {{.EngineVersioned "ReplacingMergeTree" "edge_hours" "version"}}
PARTITION BY toYYYYMM(toDate(intDiv(hour, 1000000000)))
ORDER BY (tenant_id, hour, source, target);

CREATE TABLE IF NOT EXISTS {{.Local "edge_marks"}}{{.OnCluster}} (
    tenant_id {{.LowCard}},
    minute    Int64,
    touched   Int64
) ENGINE = {{.EngineVersioned "ReplacingMergeTree" "edge_marks" "touched"}}
ORDER BY (tenant_id, minute);

CREATE TABLE IF NOT EXISTS {{.Local "edge_folds"}}{{.OnCluster}} (
    tenant_id {{.LowCard}},
    minute    Int64,
    folded    Int64
) ENGINE = {{.EngineVersioned "ReplacingMergeTree" "edge_folds" "folded"}}
ORDER BY (tenant_id, minute)
{{- if .Cluster}};

CREATE TABLE IF NOT EXISTS {{.DB}}.edges{{.OnCluster}} AS {{.Local "edges"}}
ENGINE = Distributed({{.Cluster}}, {{.DB}}, edges_local, cityHash64(tenant_id, minute));

CREATE TABLE IF NOT EXISTS {{.DB}}.edge_hours{{.OnCluster}} AS {{.Local "edge_hours"}}
ENGINE = Distributed({{.Cluster}}, {{.DB}}, edge_hours_local, cityHash64(tenant_id, hour));

CREATE TABLE IF NOT EXISTS {{.DB}}.edge_marks{{.OnCluster}} AS {{.Local "edge_marks"}}
ENGINE = Distributed({{.Cluster}}, {{.DB}}, edge_marks_local, cityHash64(tenant_id, minute));

CREATE TABLE IF NOT EXISTS {{.DB}}.edge_folds{{.OnCluster}} AS {{.Local "edge_folds"}}
ENGINE = Distributed({{.Cluster}}, {{.DB}}, edge_folds_local, cityHash64(tenant_id, minute))
{{- end}};

-- Spans stored before these tables existed are folded once.
INSERT INTO {{.DB}}.edge_marks (tenant_id, minute, touched)
SELECT DISTINCT tenant_id, intDiv(ts, 60000000000) * 60000000000, 1 FROM {{.DB}}.events WHERE kind = 'span'

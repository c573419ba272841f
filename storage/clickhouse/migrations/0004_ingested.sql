-- When Inquest took each event in: retention counts from it (imported
-- history is kept for the retention after its import). 0 on rows written
-- before this column, which are aged by their own time.
ALTER TABLE {{.Local "events"}}{{.OnCluster}} ADD COLUMN ingested_ts Int64 DEFAULT 0
{{- if .Cluster}};

ALTER TABLE {{.DB}}.events{{.OnCluster}} ADD COLUMN ingested_ts Int64 DEFAULT 0
{{- end}}

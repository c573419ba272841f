-- Inquest embedded schema. Attributes are parallel key/value lists, the
-- layout the ClickHouse backend uses too. Timestamps are Unix nanoseconds.
CREATE TABLE IF NOT EXISTS events (
    tenant_id      VARCHAR NOT NULL,
    ts             BIGINT  NOT NULL,
    kind           VARCHAR NOT NULL,
    service        VARCHAR NOT NULL,
    name           VARCHAR NOT NULL,
    trace_id       VARCHAR,
    span_id        VARCHAR,
    parent_span_id VARCHAR,
    duration_ns    BIGINT,
    status         VARCHAR NOT NULL,
    severity       VARCHAR,
    body           VARCHAR,
    attr_keys      VARCHAR[],
    attr_vals      VARCHAR[],
    num_keys       VARCHAR[],
    num_vals       DOUBLE[],
    res_keys       VARCHAR[],
    res_vals       VARCHAR[],
    sample_rate    DOUBLE  NOT NULL,
    event_id       BIGINT  NOT NULL  -- content hash (bits of a uint64)
);

CREATE TABLE IF NOT EXISTS metric_samples (
    tenant_id  VARCHAR NOT NULL,
    series_id  BIGINT  NOT NULL, -- bits of a uint64
    name       VARCHAR NOT NULL,
    label_keys VARCHAR[],
    label_vals VARCHAR[],
    mtype      VARCHAR NOT NULL,
    ts         BIGINT  NOT NULL,
    value      DOUBLE  NOT NULL
);

CREATE TABLE IF NOT EXISTS dead_letters (
    tenant_id   VARCHAR NOT NULL,
    id          VARCHAR NOT NULL,
    ts          BIGINT  NOT NULL,
    source      VARCHAR NOT NULL,
    format      VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    payload     BLOB,
    replayed_at BIGINT
);

CREATE TABLE IF NOT EXISTS api_keys (
    tenant_id   VARCHAR NOT NULL,
    id          VARCHAR NOT NULL PRIMARY KEY,
    name        VARCHAR NOT NULL,
    role        VARCHAR NOT NULL,
    secret_hash BLOB    NOT NULL, -- SHA-256 of the secret; the secret itself is never stored
    created_by  VARCHAR NOT NULL,
    created_at  BIGINT  NOT NULL,
    last_used   BIGINT,
    revoked_at  BIGINT
);

CREATE TABLE IF NOT EXISTS usage_hours (
    tenant_id VARCHAR NOT NULL,
    hour      BIGINT  NOT NULL,
    events    BIGINT  NOT NULL,
    bytes     BIGINT  NOT NULL,
    queries   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, hour)
);

CREATE TABLE IF NOT EXISTS audit_log (
    tenant_id VARCHAR NOT NULL,
    id        VARCHAR NOT NULL,
    ts        BIGINT  NOT NULL,
    actor     VARCHAR NOT NULL,
    action    VARCHAR NOT NULL,
    target    VARCHAR NOT NULL,
    outcome   VARCHAR NOT NULL,
    detail    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS anomalies (
    tenant_id   VARCHAR NOT NULL,
    id          VARCHAR NOT NULL,
    series      VARCHAR NOT NULL,
    service     VARCHAR NOT NULL,
    operation   VARCHAR NOT NULL,
    signal      VARCHAR NOT NULL,
    start_ts    BIGINT  NOT NULL,
    end_ts      BIGINT  NOT NULL, -- 0 while it goes on
    severity    VARCHAR NOT NULL,
    score       DOUBLE  NOT NULL,
    expected    DOUBLE  NOT NULL,
    observed    DOUBLE  NOT NULL,
    lower_bound DOUBLE  NOT NULL,
    upper_bound DOUBLE  NOT NULL,
    detector    VARCHAR NOT NULL,
    explanation VARCHAR NOT NULL,
    incident_id VARCHAR NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE IF NOT EXISTS incidents (
    tenant_id       VARCHAR NOT NULL,
    id              VARCHAR NOT NULL,
    title           VARCHAR NOT NULL,
    severity        VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,
    services        VARCHAR[] NOT NULL,
    anomaly_ids     VARCHAR[] NOT NULL,
    opened_ts       BIGINT  NOT NULL,
    updated_ts      BIGINT  NOT NULL,
    resolved_ts     BIGINT  NOT NULL,
    acknowledged_by VARCHAR NOT NULL,
    timeline        VARCHAR NOT NULL, -- JSON list of events
    PRIMARY KEY (tenant_id, id)
);
-- When a record was taken in: retention counts from it, so that imported
-- history is kept for the retention after its import. 0: written before
-- the column existed (retention then counts from the record's own time).
ALTER TABLE events ADD COLUMN IF NOT EXISTS ingested_ts BIGINT DEFAULT 0;
ALTER TABLE metric_samples ADD COLUMN IF NOT EXISTS ingested_ts BIGINT DEFAULT 0;
-- Bumped by every compare-and-set change (storage.IncidentStore.UpdateIncident).
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS version BIGINT DEFAULT 0;

CREATE TABLE IF NOT EXISTS rules (
    tenant_id  VARCHAR NOT NULL,
    id         VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    service    VARCHAR NOT NULL,
    operation  VARCHAR NOT NULL,
    signal     VARCHAR NOT NULL,
    op         VARCHAR NOT NULL,
    value      DOUBLE  NOT NULL,
    for_ns     BIGINT  NOT NULL,
    objective  DOUBLE  NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- An investigation is kept whole as JSON (body); the columns beside it are
-- what it is looked up by.
CREATE TABLE IF NOT EXISTS investigations (
    tenant_id   VARCHAR NOT NULL,
    id          VARCHAR NOT NULL,
    incident_id VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,
    started_ts  BIGINT  NOT NULL,
    body        VARCHAR NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- A proposal is kept whole as JSON; changes are compare-and-set on version.
CREATE TABLE IF NOT EXISTS proposals (
    tenant_id        VARCHAR NOT NULL,
    id               VARCHAR NOT NULL,
    incident_id      VARCHAR NOT NULL,
    investigation_id VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,
    proposed_ts      BIGINT  NOT NULL,
    version          BIGINT  NOT NULL,
    body             VARCHAR NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- A tenant's settings changed through the API, one document per key.
CREATE TABLE IF NOT EXISTS settings (
    tenant_id  VARCHAR NOT NULL,
    key        VARCHAR NOT NULL,
    value      VARCHAR NOT NULL,
    updated_ts BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- Keys seen once, until they expire: the replay guard of signed requests
-- (a Slack interaction's signature), which must outlive a restart.
CREATE TABLE IF NOT EXISTS seen (
    key        VARCHAR NOT NULL PRIMARY KEY,
    expires_ts BIGINT  NOT NULL
);

-- The service map kept per minute (storage/edges.go): each minute's
-- caller → callee edges by duration bucket, weighted by sample rate, and
-- each hour's (the sum of its minutes'); the minutes writes touched since
-- they were last folded; and, once, every minute holding spans from
-- before these tables existed.
CREATE TABLE IF NOT EXISTS edges (
    tenant_id VARCHAR NOT NULL,
    minute    BIGINT  NOT NULL,
    source    VARCHAR NOT NULL,
    target    VARCHAR NOT NULL,
    bucket    INTEGER NOT NULL,
    calls     DOUBLE  NOT NULL,
    errors    DOUBLE  NOT NULL
);
CREATE TABLE IF NOT EXISTS edge_hours (
    tenant_id VARCHAR NOT NULL,
    hour      BIGINT  NOT NULL,
    source    VARCHAR NOT NULL,
    target    VARCHAR NOT NULL,
    bucket    INTEGER NOT NULL,
    calls     DOUBLE  NOT NULL,
    errors    DOUBLE  NOT NULL
);
CREATE TABLE IF NOT EXISTS edge_marks (
    tenant_id VARCHAR NOT NULL,
    minute    BIGINT  NOT NULL,
    touched   BIGINT  NOT NULL
);
CREATE TABLE IF NOT EXISTS edge_seeded (seeded_at BIGINT NOT NULL);
INSERT INTO edge_marks SELECT DISTINCT tenant_id, ts // 60000000000 * 60000000000, 0 FROM events
    WHERE kind = 'span' AND NOT EXISTS (SELECT 1 FROM edge_seeded);
INSERT INTO edge_seeded SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM edge_seeded);

-- Resource attributes (service.name, host, pod, version ...) are the same
-- for every span a process sends, so they are kept once per resource and
-- a row names its resource: a third of a span's values otherwise, and
-- the largest cost of storing it. res_id is a hash of the attributes
-- (storage/duckdb/resources.go). Rows written before the table existed
-- keep their own res_keys/res_vals and have no res_id; events_res reads
-- either.
CREATE TABLE IF NOT EXISTS resources (
    tenant_id VARCHAR   NOT NULL,
    res_id    BIGINT    NOT NULL,
    res_keys  VARCHAR[] NOT NULL,
    res_vals  VARCHAR[] NOT NULL
);
ALTER TABLE events ADD COLUMN IF NOT EXISTS res_id BIGINT;
CREATE OR REPLACE VIEW events_res AS
SELECT e.* EXCLUDE (res_keys, res_vals),
    COALESCE(r.res_keys, e.res_keys, []::VARCHAR[]) AS res_keys,
    COALESCE(r.res_vals, e.res_vals, []::VARCHAR[]) AS res_vals
FROM events e LEFT JOIN resources r ON r.tenant_id = e.tenant_id AND r.res_id = e.res_id;

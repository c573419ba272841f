package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/inquest/inquest/storage"
)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

const servicesSQL = `SELECT service,
	toFloat64(sumIf(sample_rate, kind = 'span')),
	toFloat64(sumIf(sample_rate, kind = 'span' AND status = 'error')),
	toNullable(toFloat64(quantile(0.5)(duration_ns) / 1e6)),
	toNullable(toFloat64(quantile(0.99)(duration_ns) / 1e6)),
	min(ts), max(ts)
FROM {db}.events WHERE tenant_id = ? AND ts >= ? AND ts < ?
GROUP BY service ORDER BY service`

// Services lists the services seen in the range with their RED figures.
func (s *Store) Services(ctx context.Context, tenant string, r storage.TimeRange) ([]storage.ServiceSummary, error) {
	v, err := s.services(ctx, tenant, r)
	return v, stopped(err)
}

func (s *Store) services(ctx context.Context, tenant string, r storage.TimeRange) ([]storage.ServiceSummary, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query without tenant")
	}
	rows, err := s.conn.Query(ctx, strings.ReplaceAll(servicesSQL, "{db}", s.db), tenant, r.Start, r.End)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	defer rows.Close()
	var out []storage.ServiceSummary
	for rows.Next() {
		var sum storage.ServiceSummary
		if err := rows.Scan(&sum.Name, &sum.SpanCount, &sum.ErrorCount, &sum.P50Ms, &sum.P99Ms, &sum.FirstNano, &sum.LastNano); err != nil {
			return nil, fmt.Errorf("services: scan: %w", err)
		}
		out = append(out, sum)
	}
	storage.SetCoverage(out, r)
	return out, rows.Err()
}

// serviceMapSQL joins each span to its parent in the same trace; an edge is
// a parent and child in different services. Client spans whose callee is
// not instrumented (a database, a third-party API) name it in peer.service
// and give an edge to that peer when no child span answers them. The same
// edges as the embedded store's, written without WITH subqueries and with
// JOIN ... USING, which 18.16 needs.
const serviceMapSQL = `SELECT source, target,
	toFloat64(sum(sample_rate)),
	toFloat64(sumIf(sample_rate, status = 'error')),
	toNullable(toFloat64(quantile(0.99)(duration_ns) / 1e6))
FROM (
	SELECT source, target, status, duration_ns, sample_rate FROM (
		SELECT trace_id, parent_span_id AS link, service AS target, status, duration_ns, sample_rate
		FROM {db}.events
		WHERE tenant_id = ? AND ts >= ? AND ts < ? AND kind = 'span' AND trace_id != '' AND parent_span_id != ''
	) ALL INNER JOIN (
		SELECT trace_id, span_id AS link, service AS source
		FROM {db}.events
		WHERE tenant_id = ? AND ts >= ? AND ts < ? AND kind = 'span' AND trace_id != ''
	) USING (trace_id, link)
	WHERE source != target
	UNION ALL
	SELECT service AS source, attr_vals[indexOf(attr_keys, 'peer.service')] AS target, status, duration_ns, sample_rate
	FROM {db}.events
	WHERE tenant_id = ? AND ts >= ? AND ts < ? AND kind = 'span' AND trace_id != ''
		AND has(attr_keys, 'peer.service') AND target != service
		AND (trace_id, span_id) {notIn} (
			SELECT trace_id, parent_span_id FROM {db}.events
			WHERE tenant_id = ? AND ts >= ? AND ts < ? AND kind = 'span' AND parent_span_id != '')
)
GROUP BY source, target ORDER BY source, target`

// ServiceMap derives caller → callee edges from parent/child spans.
func (s *Store) ServiceMap(ctx context.Context, tenant string, r storage.TimeRange) ([]storage.ServiceEdge, error) {
	v, err := s.serviceMap(ctx, tenant, r)
	return v, stopped(err)
}

func (s *Store) serviceMap(ctx context.Context, tenant string, r storage.TimeRange) ([]storage.ServiceEdge, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query without tenant")
	}
	var args []any
	for i := 0; i < 4; i++ {
		args = append(args, tenant, r.Start, r.End)
	}
	// Under a cluster the subquery on the Distributed table must be GLOBAL:
	// ClickHouse refuses a distributed subquery inside a distributed query
	// (and 18.16 cannot be sent distributed_product_mode as a setting).
	notIn := "NOT IN"
	if s.cluster != "" {
		notIn = "GLOBAL NOT IN"
	}
	query := strings.NewReplacer("{db}", s.db, "{notIn}", notIn).Replace(serviceMapSQL)
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("service map: %w", err)
	}
	defer rows.Close()
	var out []storage.ServiceEdge
	for rows.Next() {
		var e storage.ServiceEdge
		if err := rows.Scan(&e.Source, &e.Target, &e.Calls, &e.Errors, &e.P99Ms); err != nil {
			return nil, fmt.Errorf("service map: scan: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

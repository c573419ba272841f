package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/inquest/inquest/domain"
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
func (s *Store) Services(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceSummary, error) {
	v, err := s.services(ctx, tenant, r)
	return v, stopped(err)
}

func (s *Store) services(ctx context.Context, tenant string, r domain.TimeRange) ([]domain.ServiceSummary, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	rows, err := s.conn.Query(ctx, strings.ReplaceAll(servicesSQL, "{db}", s.db), tenant, r.Start, r.End)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	defer rows.Close()
	var out []domain.ServiceSummary
	for rows.Next() {
		var sum domain.ServiceSummary
		if err := rows.Scan(&sum.Name, &sum.SpanCount, &sum.ErrorCount, &sum.P50Ms, &sum.P99Ms, &sum.FirstNano, &sum.LastNano); err != nil {
			return nil, fmt.Errorf("services: scan: %w", err)
		}
		out = append(out, sum)
	}
	domain.SetCoverage(out, r)
	return out, rows.Err()
}

package clickhouse

import (
	"context"
	"fmt"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/internal/sqlbuild"
)

// BubbleUp counts, inside ClickHouse, every (field, value) of the
// selection and of the baseline: each event's columns and attributes are
// ARRAY JOINed, and only the grouped counts come back.
func (s *Store) BubbleUp(ctx context.Context, q domain.BubbleUpQuery) (*domain.BubbleUpCounts, error) {
	v, err := s.bubbleUp(ctx, q)
	return v, stopped(err)
}

func (s *Store) bubbleUp(ctx context.Context, q domain.BubbleUpQuery) (*domain.BubbleUpCounts, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	d := dialect{db: s.db}
	out := &domain.BubbleUpCounts{}
	t := &sqlbuild.Builder{}
	t.W("SELECT sumIf(w, ifNull(sel, 0) = 1), sumIf(w, ifNull(sel, 0) = 0), countIf(ifNull(sel, 0) = 1), countIf(ifNull(sel, 0) = 0) " +
		"FROM (SELECT sample_rate AS w, ")
	if err := sqlbuild.BubbleUpSides(t, d, &q, 1, 1); err != nil {
		return nil, err
	}
	t.W(")")
	var nSel, nBase uint64
	if err := s.conn.QueryRow(ctx, t.String(), t.Args...).Scan(&out.Selection, &out.Baseline, &nSel, &nBase); err != nil {
		return nil, fmt.Errorf("bubble-up totals: %w", err)
	}
	ks, kb := domain.SampleRate(float64(nSel)), domain.SampleRate(float64(nBase))
	out.CountedSelection, out.CountedBaseline = out.Selection, out.Baseline
	if ks > 1 || kb > 1 {
		c := &sqlbuild.Builder{}
		c.W("SELECT sumIf(w, ifNull(sel, 0) = 1), sumIf(w, ifNull(sel, 0) = 0) FROM (SELECT sample_rate AS w, ")
		if err := sqlbuild.BubbleUpSides(c, d, &q, ks, kb); err != nil {
			return nil, err
		}
		c.W(")")
		if err := s.conn.QueryRow(ctx, c.String(), c.Args...).Scan(&out.CountedSelection, &out.CountedBaseline); err != nil {
			return nil, fmt.Errorf("bubble-up sample: %w", err)
		}
	}
	b := &sqlbuild.Builder{}
	b.W(`SELECT f, v, sumIf(w, ifNull(sel, 0) = 1) AS s, sumIf(w, ifNull(sel, 0) = 0) AS bl FROM (SELECT
		arrayConcat(['service', 'name', 'status', 'kind'], arrayMap(k -> concat('attr.', k), attr_keys), arrayMap(k -> concat('res.', k), res_keys),
			arrayMap(k -> concat('num.', k), num_keys)) AS fs,
		arrayConcat([toString(service), toString(name), toString(status), toString(kind)], attr_vals, res_vals, arrayMap(x -> toString(toInt64(
			if(x = 0 OR isNaN(x) OR isInfinite(x), 0, if(x < 0, -1, 1) * (floor(log2(abs(x))) + ` + domain.BucketBias + `)))), num_vals)) AS vs, sample_rate AS w, `)
	if err := sqlbuild.BubbleUpSides(b, d, &q, ks, kb); err != nil {
		return nil, err
	}
	b.W(`) ARRAY JOIN fs AS f, vs AS v GROUP BY f, v HAVING s > 0 ORDER BY s DESC, f, v LIMIT `, fmt.Sprint(domain.BubbleUpMaxValues))
	rows, err := s.conn.Query(ctx, b.String(), b.Args...)
	if err != nil {
		return nil, fmt.Errorf("bubble-up: %w", err)
	}
	defer rows.Close()
	if err := sqlbuild.ScanBubbleUp(rows, out); err != nil {
		return nil, err
	}
	return out, nil
}

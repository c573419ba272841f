package duckdb

import (
	"context"
	"fmt"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/internal/sqlbuild"
)

// BubbleUp counts, inside DuckDB, every (field, value) of the selection
// and of the baseline: each event is unnested into its columns and
// attributes, and only the grouped counts come back. Past
// storage.BubbleUpSample events a side is sampled by content hash.
func (s *Store) BubbleUp(ctx context.Context, q domain.BubbleUpQuery) (*domain.BubbleUpCounts, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	out := &domain.BubbleUpCounts{}
	t := &sqlbuild.Builder{}
	t.W("SELECT coalesce(sum(CASE WHEN sel THEN w ELSE 0 END), 0), coalesce(sum(CASE WHEN sel THEN 0 ELSE w END), 0), " +
		"count(*) FILTER (WHERE sel), count(*) FILTER (WHERE NOT sel OR sel IS NULL) FROM (SELECT sample_rate AS w, ")
	// The sides read resource attributes only if a filter does.
	totals := readsResource(nil, q.Scope, q.Selection)
	if err := sqlbuild.BubbleUpSides(t, totals, &q, 1, 1); err != nil {
		return nil, err
	}
	t.W(")")
	var nSel, nBase float64
	if err := s.db.QueryRowContext(ctx, t.String(), t.Args...).Scan(&out.Selection, &out.Baseline, &nSel, &nBase); err != nil {
		return nil, fmt.Errorf("bubble-up totals: %w", err)
	}
	ks, kb := domain.SampleRate(nSel), domain.SampleRate(nBase)
	out.CountedSelection, out.CountedBaseline = out.Selection, out.Baseline
	if ks > 1 || kb > 1 {
		c := &sqlbuild.Builder{}
		c.W("SELECT coalesce(sum(CASE WHEN sel THEN w ELSE 0 END), 0), coalesce(sum(CASE WHEN sel THEN 0 ELSE w END), 0) FROM (SELECT sample_rate AS w, ")
		if err := sqlbuild.BubbleUpSides(c, totals, &q, ks, kb); err != nil {
			return nil, err
		}
		c.W(")")
		if err := s.db.QueryRowContext(ctx, c.String(), c.Args...).Scan(&out.CountedSelection, &out.CountedBaseline); err != nil {
			return nil, fmt.Errorf("bubble-up sample: %w", err)
		}
	}
	// Each event is unnested into its columns and attributes; its
	// resource's attributes are counted once per resource and side (they
	// are the same for every event of it) and joined after, so that they
	// cost one row per resource rather than per event. Rows from before
	// resources had their own table carry theirs and are unnested.
	b := &sqlbuild.Builder{}
	b.W(`WITH x AS NOT MATERIALIZED (SELECT service, name, status, kind, attr_keys, attr_vals, num_keys, num_vals, res_id,
		CASE WHEN res_id IS NULL THEN res_keys END AS rk, CASE WHEN res_id IS NULL THEN res_vals END AS rv, sample_rate AS w, `)
	if err := sqlbuild.BubbleUpSides(b, totals, &q, ks, kb); err != nil {
		return nil, err
	}
	b.W(`) SELECT f, v, sum(CASE WHEN sel THEN w ELSE 0 END) AS s, sum(CASE WHEN sel THEN 0 ELSE w END) AS bl FROM (
		SELECT unnest(['service', 'name', 'status', 'kind'] || list_transform(attr_keys, k -> 'attr.' || k)
			|| list_transform(coalesce(rk, []), k -> 'res.' || k) || list_transform(num_keys, k -> 'num.' || k)) AS f,
		unnest([service, name, status, kind] || attr_vals || coalesce(rv, []) || list_transform(num_vals, x -> CAST(CAST(
			CASE WHEN x = 0 OR isnan(x) OR isinf(x) THEN 0 ELSE (CASE WHEN x < 0 THEN -1 ELSE 1 END) * (floor(log2(abs(x))) + ` + domain.BucketBias + `) END
			AS BIGINT) AS VARCHAR))) AS v, w, sel FROM x
		UNION ALL
		SELECT unnest(list_transform(r.res_keys, k -> 'res.' || k)), unnest(r.res_vals), g.w, g.sel
		FROM (SELECT res_id, sel, sum(w) AS w FROM x WHERE res_id IS NOT NULL GROUP BY res_id, sel) g
		JOIN resources r ON r.tenant_id = `)
	b.Arg(q.Tenant)
	b.W(` AND r.res_id = g.res_id) GROUP BY f, v HAVING s > 0 ORDER BY s DESC, f, v LIMIT `, fmt.Sprint(domain.BubbleUpMaxValues))
	rows, err := s.db.QueryContext(ctx, b.String(), b.Args...)
	if err != nil {
		return nil, fmt.Errorf("bubble-up: %w", err)
	}
	defer rows.Close()
	if err := sqlbuild.ScanBubbleUp(rows, out); err != nil {
		return nil, err
	}
	return out, nil
}

package duckdb

import (
	"context"
	"fmt"

	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/internal/sqlbuild"
)

// BubbleUp counts, inside DuckDB, every (field, value) of the selection
// and of the baseline: each event is unnested into its columns and
// attributes, and only the grouped counts come back. Past
// storage.BubbleUpSample events a side is sampled by content hash.
func (s *Store) BubbleUp(ctx context.Context, q storage.BubbleUpQuery) (*storage.BubbleUpCounts, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	out := &storage.BubbleUpCounts{}
	t := &sqlbuild.Builder{}
	t.W("SELECT coalesce(sum(CASE WHEN sel THEN w ELSE 0 END), 0), coalesce(sum(CASE WHEN sel THEN 0 ELSE w END), 0), " +
		"count(*) FILTER (WHERE sel), count(*) FILTER (WHERE NOT sel OR sel IS NULL) FROM (SELECT sample_rate AS w, ")
	if err := sqlbuild.BubbleUpSides(t, dialect{}, &q, 1, 1); err != nil {
		return nil, err
	}
	t.W(")")
	var nSel, nBase float64
	if err := s.db.QueryRowContext(ctx, t.String(), t.Args...).Scan(&out.Selection, &out.Baseline, &nSel, &nBase); err != nil {
		return nil, fmt.Errorf("bubble-up totals: %w", err)
	}
	ks, kb := storage.SampleRate(nSel), storage.SampleRate(nBase)
	out.CountedSelection, out.CountedBaseline = out.Selection, out.Baseline
	if ks > 1 || kb > 1 {
		c := &sqlbuild.Builder{}
		c.W("SELECT coalesce(sum(CASE WHEN sel THEN w ELSE 0 END), 0), coalesce(sum(CASE WHEN sel THEN 0 ELSE w END), 0) FROM (SELECT sample_rate AS w, ")
		if err := sqlbuild.BubbleUpSides(c, dialect{}, &q, ks, kb); err != nil {
			return nil, err
		}
		c.W(")")
		if err := s.db.QueryRowContext(ctx, c.String(), c.Args...).Scan(&out.CountedSelection, &out.CountedBaseline); err != nil {
			return nil, fmt.Errorf("bubble-up sample: %w", err)
		}
	}
	b := &sqlbuild.Builder{}
	b.W(`SELECT f, v, sum(CASE WHEN sel THEN w ELSE 0 END) AS s, sum(CASE WHEN sel THEN 0 ELSE w END) AS bl FROM (SELECT
		unnest(['service', 'name', 'status', 'kind'] || list_transform(attr_keys, k -> 'attr.' || k) || list_transform(res_keys, k -> 'res.' || k)
			|| list_transform(num_keys, k -> 'num.' || k)) AS f,
		unnest([service, name, status, kind] || attr_vals || res_vals || list_transform(num_vals, x -> CAST(CAST(
			CASE WHEN x = 0 OR isnan(x) OR isinf(x) THEN 0 ELSE (CASE WHEN x < 0 THEN -1 ELSE 1 END) * (floor(log2(abs(x))) + ` + storage.BucketBias + `) END
			AS BIGINT) AS VARCHAR))) AS v, sample_rate AS w, `)
	if err := sqlbuild.BubbleUpSides(b, dialect{}, &q, ks, kb); err != nil {
		return nil, err
	}
	b.W(`) GROUP BY f, v HAVING s > 0 ORDER BY s DESC, f, v LIMIT `, fmt.Sprint(storage.BubbleUpMaxValues))
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

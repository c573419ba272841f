package nab

import (
	"fmt"
	"io"
	"sort"

	"github.com/inquest/inquest/agents/detection"
)

// Row is one detector's tallies by category ("all" included).
type Row struct {
	Name   string
	Scores map[string]*Tally
}

// Compare scores the detectors with their defaults and the sanity rows
// (3-sigma over the same window, random alerts at the detectors' own
// rate, always, never) on the corpus, and writes the tables.
func Compare(w io.Writer, c *Corpus) ([]Row, error) {
	cfg := detection.DefaultConfig()
	full, err := c.Run(Detectors(cfg))
	if err != nil {
		return nil, err
	}
	rate := float64(full["all"].Alerts) / float64(max(1, full["all"].Points))
	rows := []Row{{Name: "inquest detectors (defaults)", Scores: full}}
	for _, r := range []struct {
		name string
		a    Alerter
	}{
		{fmt.Sprintf("3-sigma over %d points", cfg.Window), ThreeSigma(cfg.Window, cfg.Warmup)},
		{fmt.Sprintf("random, %.2f alerts/1k points", 1000*rate), Random(rate, 1)},
		{"always alert", Always()},
		{"never alert", Never()},
	} {
		s, err := c.Run(r.a)
		if err != nil {
			return nil, err
		}
		rows = append(rows, Row{Name: r.name, Scores: s})
	}
	fmt.Fprintf(w, "Alerts are the points where an anomaly opens (what pages a person), not every point it stays open;\n"+
		"an anomaly ends after %d points back inside its band. Each file's first 15%% (at most 750 points) is not scored.\n\n", EndAfter)
	Table(w, rows, "all")
	var cats []string
	for cat := range full {
		if cat != "all" {
			cats = append(cats, cat)
		}
	}
	sort.Strings(cats)
	fmt.Fprintln(w)
	Table(w, rows, cats...)
	return rows, nil
}

// Table writes the measures of every row for each category.
func Table(w io.Writer, rows []Row, cats ...string) {
	fmt.Fprintln(w, "| category | detector | NAB standard | NAB low FP | NAB low FN | point-adjusted F1 | event F1 | windows found | precision | mean delay (points) | alerts / 1k points |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, cat := range cats {
		for _, r := range rows {
			t := r.Scores[cat]
			if t == nil {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %.1f | %.1f | %.1f | %.3f | %.3f | %d/%d | %.3f | %.1f | %.2f |\n", cat, r.Name,
				t.NAB(0), t.NAB(1), t.NAB(2), t.PointAdjustedF1(), t.EventF1(), t.Found, t.Windows, t.Precision(),
				t.MeanDelay(), t.AlertsPer1000())
		}
	}
}

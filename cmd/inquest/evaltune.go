package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/inquest/inquest/agents/rca"
	"github.com/inquest/inquest/agents/rca/replay"
)

// objective is what a choice of weights is judged by on a set of cases:
// its AC@1, with the scores for the table.
func objective(cases []evalCase, w *rca.Weights) (float64, replay.Scores) {
	var outs []replay.Outcome
	for i := range cases {
		outs = append(outs, replay.Outcome{Fault: cases[i].Fault, Method: methodInquest, Ranked: cases[i].ranked(w)})
	}
	s := replay.Score(outs)
	return s.AC1, s
}

// tune chooses the weights on cases by coordinate ascent from start: each
// knob in turn tries the values of its grid, two passes. A value replaces
// the current one only when it raises AC@1 by more than one standard
// error of the current AC@1 (Breiman's one-standard-error rule): a gain
// of a fault or two on a few dozen faults is the noise of which faults
// were drawn, and a weight moved for it is fitted to them. The trail says
// what moved.
func tune(start rca.Weights, cases []evalCase, strict bool) (rca.Weights, []string) {
	w := start
	best, _ := objective(cases, &w)
	var trail []string
	for pass := 0; pass < 2; pass++ {
		moved := false
		for _, k := range w.Knobs() {
			if len(k.Grid) == 0 {
				continue
			}
			was := *k.Value
			keep, bar := was, best+oneSE(best, len(cases))
			if strict {
				bar = best + 1e-9 // any gain at all
			}
			for _, v := range k.Grid {
				*k.Value = v
				if score, _ := objective(cases, &w); score > bar {
					best, keep, bar = score, v, score
				}
			}
			*k.Value = keep
			if strict {
				bar = best + 1e-9
			}
			if keep != was {
				moved = true
				trail = append(trail, fmt.Sprintf("  %s %g → %g (AC@1 %.3f)", k.Name, was, keep, best))
			}
		}
		if !moved {
			break
		}
	}
	return w, trail
}

// oneSE is the standard error of an AC@1 of p over n faults.
func oneSE(p float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return math.Sqrt(p * (1 - p) / float64(n))
}

// crossSystems prints, for each system, its scores with the default
// weights, with weights chosen on itself, and with weights chosen on the
// other systems (leave one system out), and the weights each choice made.
func crossSystems(out io.Writer, systems []evalSystem, bySystem [][]evalCase, base rca.Weights, strict bool) {
	rule := "a weight moves when AC@1 gains more than one standard error"
	if strict {
		rule = "a weight moves for any gain"
	}
	fmt.Fprintf(out, "\n== leave one system out (weights chosen on the other systems, scored on the one named; %s)\n", rule)
	fmt.Fprintf(out, "%-14s %5s  %-20s  %-20s  %-20s\n", "system", "n", "default AC@1/3/Avg5", "own-tuned", "tuned on the others")
	sumOwn, sumCross := 0.0, 0.0
	for i, sys := range systems {
		var others []evalCase
		for j, cs := range bySystem {
			if j != i {
				others = append(others, cs...)
			}
		}
		own, _ := tune(base, bySystem[i], strict)
		cross, trail := tune(base, others, strict)
		d := base
		_, sd := objective(bySystem[i], &d)
		_, so := objective(bySystem[i], &own)
		_, sc := objective(bySystem[i], &cross)
		sumOwn += so.AC1
		sumCross += sc.AC1
		fmt.Fprintf(out, "%-14s %5d  %-20s  %-20s  %-20s\n", sys.Name, len(bySystem[i]), triple(sd), triple(so), triple(sc))
		if len(trail) > 0 {
			fmt.Fprintf(out, "  chosen without %s:\n%s\n", sys.Name, strings.Join(trail, "\n"))
		}
	}
	n := float64(len(systems))
	fmt.Fprintf(out, "mean AC@1: own-tuned %.2f, tuned on the others %.2f (gap %.2f)\n", sumOwn/n, sumCross/n, sumOwn/n-sumCross/n)
}

func triple(s replay.Scores) string {
	return fmt.Sprintf("%.2f / %.2f / %.2f", s.AC1, s.AC3, s.Avg5)
}

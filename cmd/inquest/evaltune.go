package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/inquest/inquest/agents/rca"
	"github.com/inquest/inquest/agents/rca/replay"
)

// objective is what a choice of weights is judged by on a set of cases:
// AC@1, then Avg@5 to break ties (weighted so that no Avg@5 gain buys a
// lost first place).
func objective(cases []evalCase, w *rca.Weights) (float64, replay.Scores) {
	var outs []replay.Outcome
	for i := range cases {
		outs = append(outs, replay.Outcome{Fault: cases[i].Fault, Method: methodInquest, Ranked: cases[i].ranked(w)})
	}
	s := replay.Score(outs)
	return s.AC1 + 0.01*s.Avg5, s
}

// tune chooses the weights on cases by coordinate ascent from start: each
// knob in turn takes the value of its grid that scores best, two passes;
// a value replaces the current one only when it scores strictly better,
// so that with no evidence either way the defaults stay. The trail says
// what moved.
func tune(start rca.Weights, cases []evalCase) (rca.Weights, []string) {
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
			keep := was
			for _, v := range k.Grid {
				*k.Value = v
				if score, _ := objective(cases, &w); score > best+1e-9 {
					best, keep = score, v
				}
			}
			*k.Value = keep
			if keep != was {
				moved = true
				trail = append(trail, fmt.Sprintf("  %s %g → %g (objective %.3f)", k.Name, was, keep, best))
			}
		}
		if !moved {
			break
		}
	}
	return w, trail
}

// crossSystems prints, for each system, its scores with the default
// weights, with weights chosen on itself, and with weights chosen on the
// other systems (leave one system out), and the weights each choice made.
func crossSystems(out io.Writer, systems []evalSystem, bySystem [][]evalCase, base rca.Weights) {
	fmt.Fprintf(out, "\n== leave one system out (weights chosen on the other systems, scored on the one named)\n")
	fmt.Fprintf(out, "%-14s %5s  %-20s  %-20s  %-20s\n", "system", "n", "default AC@1/3/Avg5", "own-tuned", "tuned on the others")
	sumOwn, sumCross := 0.0, 0.0
	for i, sys := range systems {
		var others []evalCase
		for j, cs := range bySystem {
			if j != i {
				others = append(others, cs...)
			}
		}
		own, _ := tune(base, bySystem[i])
		cross, trail := tune(base, others)
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

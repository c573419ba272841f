package replay

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Outcome is one method's ranking of one fault.
type Outcome struct {
	Fault  Fault
	Method string
	Ranked []string // services, most likely first
}

// Rank is the 1-based position of the labelled service, 0 when absent.
func (o Outcome) Rank() int {
	for i, s := range o.Ranked {
		if s == o.Fault.Service {
			return i + 1
		}
	}
	return 0
}

// Scores are the field's measures over a set of faults: AC@k is the share
// whose labelled service is in the top k; Avg@5 is the mean of AC@1..5.
type Scores struct {
	N               int
	AC1, AC3, Avg5  float64
	acAt            [6]int
	Type, Method    string
	InvestigateTime []time.Duration
}

func (s *Scores) add(o Outcome) {
	s.N++
	r := o.Rank()
	for k := 1; k <= 5; k++ {
		if r > 0 && r <= k {
			s.acAt[k]++
		}
	}
	n := float64(s.N)
	s.AC1, s.AC3 = float64(s.acAt[1])/n, float64(s.acAt[3])/n
	sum := 0.0
	for k := 1; k <= 5; k++ {
		sum += float64(s.acAt[k]) / n
	}
	s.Avg5 = sum / 5
}

// Table scores every method per fault type and overall, and writes them
// side by side, methods in the order given.
func Table(w io.Writer, methods []string, outcomes []Outcome) map[string]map[string]*Scores {
	byType := map[string]map[string]*Scores{} // type -> method -> scores
	for _, o := range outcomes {
		for _, typ := range []string{o.Fault.Type, "overall"} {
			if byType[typ] == nil {
				byType[typ] = map[string]*Scores{}
			}
			s := byType[typ][o.Method]
			if s == nil {
				s = &Scores{Type: typ, Method: o.Method}
				byType[typ][o.Method] = s
			}
			s.add(o)
		}
	}
	var types []string
	for t := range byType {
		if t != "overall" {
			types = append(types, t)
		}
	}
	sort.Strings(types)
	types = append(types, "overall")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"fault type", "n"}
	for _, m := range methods {
		head = append(head, m+" AC@1", "AC@3", "Avg@5")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, t := range types {
		row := []string{t, ""}
		for i, m := range methods {
			s := byType[t][m]
			if s == nil {
				row = append(row, "-", "-", "-")
				continue
			}
			if i == 0 {
				row[1] = fmt.Sprint(s.N)
			}
			row = append(row, fmt.Sprintf("%.2f", s.AC1), fmt.Sprintf("%.2f", s.AC3), fmt.Sprintf("%.2f", s.Avg5))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	_ = tw.Flush()
	return byType
}

// Score is the overall measures of outcomes (of one method).
func Score(outcomes []Outcome) Scores {
	var s Scores
	for _, o := range outcomes {
		s.add(o)
	}
	return s
}

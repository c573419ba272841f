package rca

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/llm"
)

// Narrative is what a language model wrote about an investigation, after
// it was checked against the evidence.
type Narrative struct {
	Text  string
	Order []string // the hypotheses' services in the model's order
	Model string
}

// DefaultBudget is about how many tokens of evidence a model is given.
const DefaultBudget = 3000

const narrateSystem = `You are a site reliability engineer writing up an incident investigation.
You are given ranked hypotheses about the root cause, each with evidence; every evidence item has an id such as E1.2.
Use only this evidence: do not invent services, numbers or events.
Answer with one JSON object and nothing else:
{"summary": "<one paragraph for the on-call engineer: what most likely happened and why, citing evidence ids in brackets like [E1.2]>",
 "order": ["<service>", ...]}
"order" ranks the services of the hypotheses given, most likely first; you may reorder them but not add any.
If the evidence does not decide between them, say so in the summary.`

// Prompt writes the investigation's hypotheses and evidence for a model,
// strongest first, within about budget tokens.
func Prompt(inv *domain.Investigation, budget int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Window: %s to %s, compared with %s to %s.\n", timeString(inv.Scope.Range.Start), timeString(inv.Scope.Range.End),
		timeString(inv.Scope.Baseline.Start), timeString(inv.Scope.Baseline.End))
	if len(inv.Missing) > 0 {
		fmt.Fprintf(&b, "Missing evidence: %s.\n", strings.Join(inv.Missing, "; "))
	}
	for i, h := range inv.Hypotheses {
		head := fmt.Sprintf("\nH%d %s — cause %s, confidence %.2f", i+1, h.Service, h.Cause, h.Confidence)
		if len(h.Path) > 1 {
			head += ", path " + strings.Join(h.Path, " → ")
		}
		if llm.Tokens(b.String()+head) > budget {
			break
		}
		b.WriteString(head + "\n")
		for j, e := range h.Evidence {
			line := fmt.Sprintf("  E%d.%d (%s, strength %.2f): %s\n", i+1, j+1, e.Kind, e.Strength, e.Text)
			if llm.Tokens(b.String()+line) > budget {
				break
			}
			b.WriteString(line)
		}
	}
	return b.String()
}

var citation = regexp.MustCompile(`\[?E(\d+)\.(\d+)\]?`)

// Narrate asks the model to write the investigation up and checks what it
// wrote: JSON of the expected shape, services that are hypotheses, and
// every cited evidence id one that was given. An answer that fails a check
// is refused with the reason; nothing of it is kept.
func Narrate(ctx context.Context, m llm.Model, inv *domain.Investigation, budget int) (*Narrative, error) {
	if len(inv.Hypotheses) == 0 {
		return nil, fmt.Errorf("no hypotheses to write about")
	}
	if budget <= 0 {
		budget = DefaultBudget
	}
	answer, err := m.Complete(ctx, narrateSystem, Prompt(inv, budget))
	if err != nil {
		return nil, err
	}
	var out struct {
		Summary string   `json:"summary"`
		Order   []string `json:"order"`
	}
	raw := answer
	if i, j := strings.Index(raw, "{"), strings.LastIndex(raw, "}"); i >= 0 && j > i {
		raw = raw[i : j+1] // models wrap JSON in prose or fences
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("the answer is not the JSON asked for: %v", err)
	}
	if strings.TrimSpace(out.Summary) == "" {
		return nil, fmt.Errorf("the answer has no summary")
	}
	index := map[string]int{}
	for i, h := range inv.Hypotheses {
		index[h.Service] = i
	}
	seen := map[string]bool{}
	var order []string
	for _, s := range out.Order {
		if _, ok := index[s]; !ok {
			return nil, fmt.Errorf("the answer ranks %q, which is no hypothesis", s)
		}
		if !seen[s] {
			seen[s] = true
			order = append(order, s)
		}
	}
	for _, h := range inv.Hypotheses {
		if !seen[h.Service] {
			order = append(order, h.Service)
		}
	}
	cited := citation.FindAllStringSubmatch(out.Summary, -1)
	if len(cited) == 0 {
		return nil, fmt.Errorf("the answer cites no evidence")
	}
	for _, c := range cited {
		var hi, ei int
		fmt.Sscan(c[1], &hi)
		fmt.Sscan(c[2], &ei)
		if hi < 1 || hi > len(inv.Hypotheses) || ei < 1 || ei > len(inv.Hypotheses[hi-1].Evidence) {
			return nil, fmt.Errorf("the answer cites E%s.%s, which does not exist", c[1], c[2])
		}
	}
	return &Narrative{Text: strings.TrimSpace(out.Summary), Order: order, Model: m.Name()}, nil
}

// Reorder puts the hypotheses in the narrative's order.
func Reorder(hs []domain.Hypothesis, order []string) []domain.Hypothesis {
	by := map[string]domain.Hypothesis{}
	for _, h := range hs {
		by[h.Service] = h
	}
	out := make([]domain.Hypothesis, 0, len(hs))
	for _, s := range order {
		if h, ok := by[s]; ok {
			out = append(out, h)
			delete(by, s)
		}
	}
	for _, h := range hs {
		if _, ok := by[h.Service]; ok {
			out = append(out, h)
		}
	}
	return out
}

func timeString(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339) }

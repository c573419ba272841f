package investigate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/inquest/inquest/agents/rca"
	"github.com/inquest/inquest/domain"
)

// SimilarLookback is how far back similar investigations are looked for.
const SimilarLookback = 30 * 24 * time.Hour

// Features is an investigation as a set of weighted features: its leading
// services and causes, the kinds of evidence, and the attribute values
// BubbleUp found. Two investigations are similar when these overlap
// (weighted Jaccard); deterministic, so the same history gives the same
// neighbours.
func Features(inv *domain.Investigation) map[string]float64 {
	f := map[string]float64{}
	for i, h := range inv.Hypotheses {
		if i == 3 {
			break
		}
		w := 1.0 / float64(i+1)
		f["service:"+h.Service] = max(f["service:"+h.Service], 2*w)
		f["cause:"+h.Cause] = max(f["cause:"+h.Cause], w)
		f["pair:"+h.Service+"/"+h.Cause] = max(f["pair:"+h.Service+"/"+h.Cause], 2*w)
		for _, e := range h.Evidence {
			f["evidence:"+e.Kind] = max(f["evidence:"+e.Kind], 0.5*w)
			if e.Kind == rca.KindBubbleUp {
				if pair, _, ok := strings.Cut(strings.TrimPrefix(e.Text[strings.Index(e.Text, ": ")+2:], " "), " in "); ok {
					f["attr:"+pair] = max(f["attr:"+pair], w)
				}
			}
		}
	}
	return f
}

// Similarity is the weighted Jaccard index of two feature sets.
func Similarity(a, b map[string]float64) float64 {
	var inter, union float64
	for k, va := range a {
		vb := b[k]
		inter += min(va, vb)
		union += max(va, vb)
	}
	for k, vb := range b {
		if _, ok := a[k]; !ok {
			union += vb
		}
	}
	if union == 0 {
		return 0
	}
	return inter / union
}

// similar lists the tenant's finished investigations of the last month
// that look like this one, and how their incidents ended.
func (r *Runner) similar(ctx context.Context, st *run) ([]string, error) {
	inv := st.inv
	if len(inv.Hypotheses) == 0 {
		return []string{"Nothing to compare with."}, nil
	}
	now := r.now()
	past, err := r.d.Store.Investigations(ctx, inv.Tenant, domain.TimeRange{Start: now.Add(-SimilarLookback).UnixNano(), End: inv.StartedNano}, "", domain.MaxPageSize)
	if err != nil {
		return nil, err
	}
	mine := Features(inv)
	seen := map[string]bool{inv.IncidentID: inv.IncidentID != ""}
	var out []domain.SimilarInvestigation
	for i := range past {
		p := &past[i]
		if p.ID == inv.ID || p.Status != domain.InvestigationDone || (p.IncidentID != "" && seen[p.IncidentID]) {
			continue
		}
		score := Similarity(mine, Features(p))
		if score < 0.3 {
			continue
		}
		if p.IncidentID != "" {
			seen[p.IncidentID] = true
		}
		out = append(out, domain.SimilarInvestigation{ID: p.ID, IncidentID: p.IncidentID, Score: score, Summary: p.Summary})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if len(out) > 3 {
		out = out[:3]
	}
	var lines []string
	for i := range out {
		out[i].Resolution = r.resolution(ctx, inv.Tenant, out[i].IncidentID)
		lines = append(lines, fmt.Sprintf("%.0f%% alike: %s %s", 100*out[i].Score, out[i].ID, out[i].Resolution))
	}
	inv.Similar = out
	if len(lines) == 0 {
		lines = append(lines, fmt.Sprintf("None of %d investigations of the last 30 days is alike.", len(past)))
	}
	return lines, nil
}

// resolution says how an incident ended, from its timeline.
func (r *Runner) resolution(ctx context.Context, tenant, id string) string {
	if id == "" || r.d.Incidents == nil {
		return ""
	}
	in, err := r.d.Incidents.Incident(ctx, tenant, id)
	if err != nil {
		return ""
	}
	for i := len(in.Timeline) - 1; i >= 0; i-- {
		e := in.Timeline[i]
		switch e.Kind {
		case "resolved", "ended", "acknowledged", "accepted":
			who := ""
			if e.Actor != "" {
				who = " by " + e.Actor
			}
			return fmt.Sprintf("(%s %s%s: %s)", e.Kind, time.Unix(0, e.TimeUnixNano).UTC().Format(time.RFC3339), who, e.Text)
		}
	}
	return "(" + in.Status + ")"
}

package ask

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/inquest/inquest/assist/tools"
	"github.com/inquest/inquest/service"
)

// render puts a tool's result in words citing call n, and keeps its data
// as the answer's table and chart.
func (r *run) render(plan Plan, res *tools.Result, n int) string {
	cite := fmt.Sprintf(" [%d]", n)
	switch out := res.Data.(type) {
	case *tools.AggregateOut:
		if plan.Compare != "" && len(r.res) >= 2 {
			return r.compare(plan, r.res[len(r.res)-2].Data.(*tools.AggregateOut), out, n)
		}
		if plan.Measure == "errors" {
			return r.errorRate(plan, out) + cite
		}
		return r.aggregate(plan, out) + cite
	case *tools.ListIncidentsOut:
		return r.incidentsWords(plan, out, cite)
	case *tools.ListChangesOut:
		return r.changesWords(plan, out, cite)
	case *tools.BubbleUpOut:
		return r.bubbleWords(plan, out, cite)
	case *tools.ListServicesOut:
		return r.servicesWords(plan, out, cite)
	case *tools.ServiceMapOut:
		return r.mapWords(plan, out, cite)
	case *tools.TopErrorsOut:
		return r.errorsWords(plan, out, cite)
	case *tools.QueryMetricsOut:
		return r.metricsWords(plan, out, cite)
	case *tools.ListProposalsOut:
		return r.proposalsWords(plan, out, cite)
	case *tools.GetTraceOut:
		return r.traceWords(plan, out, cite)
	case *tools.SimilarIncidentsOut:
		return r.similarWords(plan, out, cite)
	}
	return "Done" + cite + "."
}

func (r *run) incidentsWords(plan Plan, out *tools.ListIncidentsOut, cite string) string {
	if len(out.Incidents) == 0 {
		return "No incidents" + statusWords(firstArgs(plan)) + cite + "."
	}
	var parts []string
	for _, in := range out.Incidents[:min(5, len(out.Incidents))] {
		parts = append(parts, fmt.Sprintf("%q (%s, %s, %s, since %s)", in.Title, in.Severity, in.Status, strings.Join(in.Services, ", "), clock(in.OpenedAt)))
	}
	r.table([]string{"incident", "severity", "status", "services", "opened"}, len(out.Incidents), func(i int) []string {
		in := out.Incidents[i]
		return []string{in.Title, in.Severity, in.Status, strings.Join(in.Services, ", "), in.OpenedAt}
	})
	return fmt.Sprintf("%d incident(s)%s: %s", len(out.Incidents), cite, strings.Join(parts, "; ")) + "."
}

func (r *run) changesWords(plan Plan, out *tools.ListChangesOut, cite string) string {
	if len(out.Changes) == 0 {
		return "No changes were recorded in that time" + cite + "."
	}
	var parts []string
	for _, c := range out.Changes[:min(5, len(out.Changes))] {
		s := c.Service + " " + c.Type
		if c.Version != "" {
			s += " " + c.Version
			if c.Previous != "" {
				s += " (was " + c.Previous + ")"
			}
		}
		parts = append(parts, s+" at "+clock(c.Time))
	}
	r.table([]string{"time", "service", "type", "version", "previous", "author"}, len(out.Changes), func(i int) []string {
		c := out.Changes[i]
		return []string{c.Time, c.Service, c.Type, c.Version, c.Previous, c.Author}
	})
	return fmt.Sprintf("%d change(s)%s: %s.", len(out.Changes), cite, strings.Join(parts, "; "))
}

func (r *run) bubbleWords(plan Plan, out *tools.BubbleUpOut, cite string) string {
	if len(out.Fields) == 0 {
		return fmt.Sprintf("Nothing stands out among the %s selected events%s.", num(out.SelectionEvents), cite)
	}
	var parts []string
	for _, f := range out.Fields[:min(3, len(out.Fields))] {
		if len(f.Values) == 0 {
			continue
		}
		v := f.Values[0]
		parts = append(parts, fmt.Sprintf("%s = %s is %s of them (%s of the others)", f.Field, v.Value, pct(v.Selection), pct(v.Baseline)))
	}
	r.table([]string{"field", "value", "selection", "baseline"}, len(out.Fields), func(i int) []string {
		f := out.Fields[i]
		if len(f.Values) == 0 {
			return []string{f.Field, "", "", ""}
		}
		return []string{f.Field, f.Values[0].Value, pct(f.Values[0].Selection), pct(f.Values[0].Baseline)}
	})
	var series service.AskSeries
	for _, f := range out.Fields[:min(8, len(out.Fields))] {
		if len(f.Values) > 0 {
			series.Points = append(series.Points, service.AskPoint{X: f.Field + "=" + f.Values[0].Value, Y: f.Values[0].Selection - f.Values[0].Baseline})
		}
	}
	series.Name = "share among the selected − share among the others"
	r.ans.Chart = &service.AskChart{Kind: "bar", Title: "What sets them apart", Unit: "ratio", Series: []service.AskSeries{series}}
	return fmt.Sprintf("Among %s selected events (against %s others)%s: %s.", num(out.SelectionEvents), num(out.BaselineEvents), cite, strings.Join(parts, "; "))
}

func (r *run) servicesWords(plan Plan, out *tools.ListServicesOut, cite string) string {
	var parts []string
	for _, s := range out.Services[:min(5, len(out.Services))] {
		parts = append(parts, fmt.Sprintf("%s (%s req/s, %s errors)", s.Name, num(s.RatePerSec), pct(s.ErrorRatio)))
	}
	r.table([]string{"service", "requests", "req/s", "errors", "p50 ms", "p99 ms"}, len(out.Services), func(i int) []string {
		s := out.Services[i]
		return []string{s.Name, num(s.Requests), num(s.RatePerSec), pct(s.ErrorRatio), nump(s.P50Ms), nump(s.P99Ms)}
	})
	return fmt.Sprintf("%d service(s)%s; the busiest: %s.", out.Total, cite, strings.Join(parts, ", "))
}

func (r *run) mapWords(plan Plan, out *tools.ServiceMapOut, cite string) string {
	var parts []string
	for _, e := range out.Edges[:min(6, len(out.Edges))] {
		parts = append(parts, fmt.Sprintf("%s → %s (%s calls, %s errors)", e.Caller, e.Callee, num(e.Calls), pct(e.ErrorRatio)))
	}
	r.table([]string{"caller", "callee", "calls", "errors", "p99 ms"}, len(out.Edges), func(i int) []string {
		e := out.Edges[i]
		return []string{e.Caller, e.Callee, num(e.Calls), pct(e.ErrorRatio), nump(e.P99Ms)}
	})
	if len(parts) == 0 {
		return "No calls between services were seen" + cite + "."
	}
	return fmt.Sprintf("%d call path(s)%s: %s.", out.Total, cite, strings.Join(parts, "; "))
}

func (r *run) errorsWords(plan Plan, out *tools.TopErrorsOut, cite string) string {
	if len(out.Groups) == 0 {
		return "No errors in that time" + cite + "."
	}
	var parts []string
	for _, g := range out.Groups[:min(3, len(out.Groups))] {
		parts = append(parts, fmt.Sprintf("%s %q ×%s", g.Service, g.Template, num(g.Count)))
	}
	r.table([]string{"service", "error", "count", "example"}, len(out.Groups), func(i int) []string {
		g := out.Groups[i]
		return []string{g.Service, g.Template, num(g.Count), g.Example}
	})
	return fmt.Sprintf("The most frequent errors%s: %s.", cite, strings.Join(parts, "; "))
}

func (r *run) metricsWords(plan Plan, out *tools.QueryMetricsOut, cite string) string {
	if len(out.Series) == 0 {
		return "No such metric in that time" + cite + "."
	}
	var parts []string
	chart := &service.AskChart{Kind: "line", Title: plan.Interpretation}
	for _, s := range out.Series[:min(5, len(out.Series))] {
		parts = append(parts, fmt.Sprintf("%s: average %s, max %s, last %s", labels(s.Labels), num(s.Avg), num(s.Max), num(s.Last)))
		ser := service.AskSeries{Name: labels(s.Labels)}
		for i, v := range s.Sparkline {
			ser.Points = append(ser.Points, service.AskPoint{X: strconv.Itoa(i), Y: v})
		}
		chart.Series = append(chart.Series, ser)
	}
	r.ans.Chart = chart
	r.table([]string{"series", "min", "avg", "max", "last"}, len(out.Series), func(i int) []string {
		s := out.Series[i]
		return []string{labels(s.Labels), num(s.Min), num(s.Avg), num(s.Max), num(s.Last)}
	})
	return strings.Join(parts, "; ") + cite + "."
}

func (r *run) proposalsWords(plan Plan, out *tools.ListProposalsOut, cite string) string {
	if len(out.Proposals) == 0 {
		return "No proposals" + statusWords(firstArgs(plan)) + cite + "."
	}
	var parts []string
	for _, p := range out.Proposals[:min(5, len(out.Proposals))] {
		s := fmt.Sprintf("%s %s (%s risk, %s)", p.Action, p.Target, p.Risk, p.Status)
		if p.Needs != "" {
			s += " needs " + p.Needs
		}
		parts = append(parts, s)
	}
	r.table([]string{"id", "action", "target", "risk", "status"}, len(out.Proposals), func(i int) []string {
		p := out.Proposals[i]
		return []string{p.ID, p.Action, p.Target, p.Risk, p.Status}
	})
	return fmt.Sprintf("%d proposal(s)%s: %s.", len(out.Proposals), cite, strings.Join(parts, "; "))
}

func (r *run) traceWords(plan Plan, out *tools.GetTraceOut, cite string) string {
	var path []string
	for _, s := range out.CriticalPath {
		path = append(path, s.Service+" "+s.Name)
	}
	return fmt.Sprintf("Trace %s took %s ms over %d spans and %d services, %d failed%s; its critical path: %s.", out.TraceID, num(out.DurationMs),
		out.Spans, len(out.Services), len(out.Errors), cite, strings.Join(path, " → "))
}

func (r *run) similarWords(plan Plan, out *tools.SimilarIncidentsOut, cite string) string {
	if len(out.Similar) == 0 {
		return "No earlier incident looks like this one" + cite + "."
	}
	var parts []string
	for _, s := range out.Similar[:min(3, len(out.Similar))] {
		parts = append(parts, fmt.Sprintf("%s (similarity %s): %s", s.IncidentID, num(s.Score), s.Resolution))
	}
	return "Incidents like it" + cite + ": " + strings.Join(parts, "; ") + "."
}

// aggregate says what an aggregate found: the figure over the window
// (or per group), and its peak when bucketed.
func (r *run) aggregate(plan Plan, out *tools.AggregateOut) string {
	if len(out.Rows) == 0 {
		return fmt.Sprintf("No matching requests%s", serviceWords(plan.Service))
	}
	col := out.Columns[0]
	unit := map[string]string{"latency": "ms", "traffic": "req/s", "count": "", "errors": ""}[plan.Measure]
	grouped := len(out.Rows[0].Group) > 0
	bucketed := out.Rows[0].Bucket != ""
	r.aggTable(out)
	switch {
	case bucketed && !grouped:
		series := service.AskSeries{Name: col}
		var sum, peak float64
		var peakAt string
		var n int
		for _, row := range out.Rows {
			if v := row.Values[col]; v != nil {
				series.Points = append(series.Points, service.AskPoint{X: row.Bucket, Y: *v})
				sum += *v
				n++
				if *v > peak {
					peak, peakAt = *v, row.Bucket
				}
			}
		}
		r.ans.Chart = &service.AskChart{Kind: "line", Title: plan.Interpretation, Unit: unitName(unit, plan.Measure), Series: []service.AskSeries{series}}
		if n == 0 {
			return "No values in that time"
		}
		what := "averages"
		if plan.Measure == "count" {
			what = "totals"
			return fmt.Sprintf("%s: %s in all, at most %s per bucket (at %s)", capital(plan.Interpretation), num(sum), num(peak), clock(peakAt))
		}
		return fmt.Sprintf("%s %s %s%s over %d buckets, highest %s%s at %s", capital(plan.Interpretation), what, num(sum/float64(n)), unit, n, num(peak), unit, clock(peakAt))
	case grouped:
		keys := groupKeys(out)
		var parts []string
		chart := service.AskSeries{Name: col}
		for _, row := range out.Rows[:min(6, len(out.Rows))] {
			if v := row.Values[col]; v != nil {
				parts = append(parts, fmt.Sprintf("%s %s%s", groupName(row.Group, keys), num(*v), unit))
			}
		}
		for _, row := range out.Rows[:min(20, len(out.Rows))] {
			if v := row.Values[col]; v != nil {
				chart.Points = append(chart.Points, service.AskPoint{X: groupName(row.Group, keys), Y: *v})
			}
		}
		r.ans.Chart = &service.AskChart{Kind: "bar", Title: plan.Interpretation, Unit: unitName(unit, plan.Measure), Series: []service.AskSeries{chart}}
		return fmt.Sprintf("%s: %s", capital(plan.Interpretation), strings.Join(parts, ", "))
	}
	v := out.Rows[0].Values[col]
	if v == nil {
		return "No values in that time"
	}
	return fmt.Sprintf("%s: %s%s", capital(plan.Interpretation), num(*v), unit)
}

// errorRate turns counts by status (and group, and bucket) into error
// ratios.
func (r *run) errorRate(plan Plan, out *tools.AggregateOut) string {
	type tally struct{ errs, all float64 }
	byKey := map[string]*tally{}
	var order []string
	col := out.Columns[0]
	for _, row := range out.Rows {
		key := row.Bucket
		for k, v := range row.Group {
			if k != "status" {
				key += "|" + k + "=" + v
			}
		}
		t := byKey[key]
		if t == nil {
			t = &tally{}
			byKey[key] = t
			order = append(order, key)
		}
		if v := row.Values[col]; v != nil {
			t.all += *v
			if row.Group["status"] == "error" {
				t.errs += *v
			}
		}
	}
	var errs, all float64
	for _, t := range byKey {
		errs, all = errs+t.errs, all+t.all
	}
	if all == 0 {
		return fmt.Sprintf("No requests%s in that time", serviceWords(plan.Service))
	}
	sort.Strings(order)
	series := service.AskSeries{Name: "error ratio"}
	bucketed := len(out.Rows) > 0 && out.Rows[0].Bucket != ""
	r.ans.Table = &service.AskTable{Columns: []string{"bucket / group", "error rate", "errors", "requests"}}
	for _, k := range order {
		t := byKey[k]
		ratio := 0.0
		if t.all > 0 {
			ratio = t.errs / t.all
		}
		x := strings.TrimPrefix(k, "|")
		if bucketed {
			x, _, _ = strings.Cut(k, "|")
		}
		series.Points = append(series.Points, service.AskPoint{X: x, Y: ratio})
		r.ans.Table.Rows = append(r.ans.Table.Rows, []string{strings.TrimPrefix(k, "|"), pct(ratio), num(t.errs), num(t.all)})
	}
	kind := "bar"
	if bucketed {
		kind = "line"
	}
	r.ans.Chart = &service.AskChart{Kind: kind, Title: plan.Interpretation, Unit: "ratio", Series: []service.AskSeries{series}}
	if !bucketed && len(order) > 1 {
		sort.SliceStable(series.Points, func(i, j int) bool { return series.Points[i].Y > series.Points[j].Y })
		var parts []string
		for _, p := range series.Points[:min(5, len(series.Points))] {
			parts = append(parts, fmt.Sprintf("%s %s", strings.TrimPrefix(p.X, "service="), pct(p.Y)))
		}
		return fmt.Sprintf("%s: %s", capital(plan.Interpretation), strings.Join(parts, ", "))
	}
	return fmt.Sprintf("%s: %s (%s failed of %s requests)", capital(plan.Interpretation), pct(errs/all), num(errs), num(all))
}

// compare sets the last hour against the same hour back then.
func (r *run) compare(plan Plan, now, then *tools.AggregateOut, n int) string {
	value := func(out *tools.AggregateOut) (float64, bool) {
		if plan.Measure == "errors" {
			var errs, all float64
			for _, row := range out.Rows {
				if v := row.Values[out.Columns[0]]; v != nil {
					all += *v
					if row.Group["status"] == "error" {
						errs += *v
					}
				}
			}
			return errs / math.Max(all, 1), all > 0
		}
		if len(out.Rows) == 0 || out.Rows[0].Values[out.Columns[0]] == nil {
			return 0, false
		}
		return *out.Rows[0].Values[out.Columns[0]], true
	}
	a, okA := value(now)
	b, okB := value(then)
	show := func(v float64) string {
		if plan.Measure == "errors" {
			return pct(v)
		}
		return num(v) + map[string]string{"latency": " ms", "traffic": " req/s"}[plan.Measure]
	}
	r.ans.Table = &service.AskTable{Columns: []string{"window", "value"}, Rows: [][]string{{"the last hour", show(a)}, {"the same hour " + plan.Compare, show(b)}}}
	r.ans.Chart = &service.AskChart{Kind: "bar", Title: plan.Interpretation, Series: []service.AskSeries{{Name: "value",
		Points: []service.AskPoint{{X: "now", Y: a}, {X: plan.Compare, Y: b}}}}}
	switch {
	case !okA && !okB:
		return fmt.Sprintf("No data in either hour [%d][%d].", n-1, n)
	case !okB:
		return fmt.Sprintf("%s: %s now [%d]; no data %s to compare with [%d].", capital(plan.Interpretation), show(a), n-1, plan.Compare, n)
	}
	change := ""
	if b != 0 {
		change = fmt.Sprintf(" (%+.0f %%)", 100*(a-b)/b)
	}
	return fmt.Sprintf("%s: %s now [%d] against %s %s [%d]%s.", capital(plan.Interpretation), show(a), n-1, show(b), plan.Compare, n, change)
}

func (r *run) aggTable(out *tools.AggregateOut) {
	keys := groupKeys(out)
	cols := append([]string{}, keys...)
	if len(out.Rows) > 0 && out.Rows[0].Bucket != "" {
		cols = append([]string{"bucket"}, cols...)
	}
	cols = append(cols, out.Columns...)
	r.ans.Table = &service.AskTable{Columns: cols}
	for _, row := range out.Rows {
		var line []string
		if row.Bucket != "" {
			line = append(line, row.Bucket)
		}
		for _, k := range keys {
			line = append(line, row.Group[k])
		}
		for _, c := range out.Columns {
			line = append(line, nump(row.Values[c]))
		}
		r.ans.Table.Rows = append(r.ans.Table.Rows, line)
	}
}

// table keeps up to 50 rows of a list as the answer's table.
func (r *run) table(cols []string, n int, row func(i int) []string) {
	t := &service.AskTable{Columns: cols}
	for i := 0; i < min(n, 50); i++ {
		t.Rows = append(t.Rows, row(i))
	}
	r.ans.Table = t
}

// investigationWords says what an investigation found.
func investigationWords(inv *tools.GetInvestigationOut, n int) string {
	if len(inv.Hypotheses) == 0 {
		s := fmt.Sprintf("Its investigation is %s and found no cause [%d]", inv.Status, n)
		if len(inv.Missing) > 0 {
			s += "; missing: " + strings.Join(inv.Missing, ", ")
		}
		return s + "."
	}
	h := inv.Hypotheses[0]
	s := fmt.Sprintf("Its investigation (%s) puts first %s: %s, confidence %s [%d]", inv.Status, h.Service, strings.ReplaceAll(h.Cause, "_", " "), num(h.Confidence), n)
	if len(h.Path) > 1 {
		s += ", along " + strings.Join(h.Path, " → ")
	}
	var ev []string
	for _, e := range h.Evidence[:min(3, len(h.Evidence))] {
		ev = append(ev, e.Text)
	}
	if len(ev) > 0 {
		s += ". Evidence: " + strings.Join(ev, "; ")
	}
	if len(inv.Hypotheses) > 1 {
		s += fmt.Sprintf(". Next: %s (%s, %s)", inv.Hypotheses[1].Service, strings.ReplaceAll(inv.Hypotheses[1].Cause, "_", " "), num(inv.Hypotheses[1].Confidence))
	}
	return s + ". " + inv.Link
}

func groupKeys(out *tools.AggregateOut) []string {
	seen := map[string]bool{}
	var keys []string
	for _, row := range out.Rows {
		for k := range row.Group {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func groupName(g map[string]string, keys []string) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, g[k])
	}
	return strings.Join(parts, "/")
}

func firstArgs(p Plan) map[string]any {
	if len(p.Calls) == 0 {
		return nil
	}
	return p.Calls[0].Args
}

func labels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, ",")
}

// num writes a number short: three significant digits, thousands apart.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case a >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case a >= 1:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func nump(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

func pct(v float64) string { return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + " %" }

func unitName(unit, measure string) string {
	if unit == "" {
		return measure
	}
	return unit
}

// clock is an RFC3339 time as HH:MM UTC.
func clock(ts string) string {
	if len(ts) >= 16 {
		return ts[11:16] + " UTC"
	}
	return ts
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// examples are questions the parser understands, offered when it did not
// understand one.
var examples = []string{"p99 latency of checkout by region over the last hour", "error rate of payment since 10:00", "slowest endpoints today",
	"why is checkout slow?", "what changed in the last 30 minutes?", "show open incidents", "compare payment latency with yesterday",
	"which customers see errors?", "top errors in shipping", "CPU of payment", "pending proposals", "service map of checkout", "list services"}

// suggest offers the examples closest to a question (by shared words).
func suggest(q string) []string {
	qs := map[string]bool{}
	for _, t := range tokens(q) {
		qs[t] = true
	}
	type scored struct {
		s string
		n int
	}
	var all []scored
	for i, e := range examples {
		n := 0
		for _, t := range tokens(e) {
			for w := range qs {
				if near(w, t) {
					n++
				}
			}
		}
		all = append(all, scored{e, n*100 - i})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].n > all[j].n })
	return []string{all[0].s, all[1].s, all[2].s}
}

package ask

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Call is one tool call of a plan.
type Call struct {
	Tool string         `json:"tool"`
	Args map[string]any `json:"args"`
}

// Plan is what a question asks for, as tool calls in order. Running it
// may change a later call with what an earlier one found (the
// investigation of an incident that covers the service, rather than a
// new one); Note says how.
type Plan struct {
	Intent         string
	Interpretation string
	Calls          []Call
	// Service, Measure and Compare let the answer be put in words.
	Service string
	Measure string // latency, errors, traffic, count
	Agg     string
	Compare string // yesterday, last week
}

// traceID is a 16 or 32 digit hex trace id.
var traceID = regexp.MustCompile(`^[0-9a-f]{16}([0-9a-f]{16})?$`)

// Parse reads a question without a model. services are the names the
// tenant's telemetry uses, so that a name typed in another case or with a
// typo is still found; now anchors relative times; def is the window when
// the question names none. ok is false when the question is none that it
// knows.
func Parse(question string, services []string, now time.Time, def Window) (Plan, bool) {
	w := words(tokens(question))
	if len(w) == 0 {
		return Plan{}, false
	}
	svc := findService(w, services)
	win, said := window(w, now)
	if !said {
		win = def
	}
	if win.From == "" {
		win = Window{From: "now-1h", To: "now", Said: "the last hour"}
	}
	p := Plan{Service: svc}
	for _, t := range w {
		if traceID.MatchString(t) && w.has("trace", "span*") || traceID.MatchString(t) && len(t) == 32 {
			p.Intent, p.Interpretation = "trace", "trace "+t
			p.Calls = []Call{{Tool: "get_trace", Args: map[string]any{"trace_id": t}}}
			return p, true
		}
	}
	if p, ok := named(p, w, svc, win, said); ok {
		return p, true
	}
	if c, ok := bubble(w, svc, win, said); ok {
		c.Service = svc
		return c, true
	}
	switch {
	case (w.has("map", "topology", "graph", "depend*", "dependencies", "upstream", "downstream", "callers") || w.phrase("who calls")) && !w.has("latency", "slow*"):
		args := map[string]any{}
		if svc != "" {
			args["service"] = svc
		}
		p.Intent, p.Interpretation = "map", "the service map"+serviceWords(svc)
		p.Calls = []Call{{Tool: "service_map", Args: withWindow(args, said, win)}}
		return p, true
	case w.has("exception*") || w.phrase("top errors") || w.phrase("common errors") || w.phrase("error messages") || w.phrase("what errors"):
		args := map[string]any{}
		if svc != "" {
			args["service"] = svc
		}
		p.Intent, p.Interpretation = "errors", "the most frequent errors"+serviceWords(svc)+windowWords(said, win)
		p.Calls = []Call{{Tool: "top_errors", Args: withWindow(args, said, win)}}
		return p, true
	case w.has("cpu", "memory", "mem", "ram", "saturation", "utilization", "utilisation"):
		return resource(p, w, svc, win, said), true
	case slices.Contains(w, "services") && !w.has("slow*", "latency", "error*", "traffic", "throughput", "requests", "rate", "duration") && !w.phrase("per service") && !w.phrase("by service"):
		p.Intent, p.Interpretation = "services", "the services"+windowWords(said, win)
		p.Calls = []Call{{Tool: "list_services", Args: withWindow(map[string]any{}, said, win)}}
		return p, true
	}
	if m, ok := measure(w, svc, win, said); ok {
		return m, true
	}
	return Plan{}, false
}

// named reads the questions about a kind of thing Inquest keeps:
// proposals, why a service misbehaves, look-alike incidents, incidents,
// changes.
func named(p Plan, w words, svc string, win Window, said bool) (Plan, bool) {
	switch {
	case w.has("proposal*", "remediation*", "approval*", "approve"):
		args := map[string]any{}
		if w.has("pending", "waiting", "open", "awaiting") || w.phrase("for approval") {
			args["status"] = "pending"
		}
		p.Intent, p.Interpretation = "proposals", "remediation proposals"+statusWords(args)
		p.Calls = []Call{{Tool: "list_proposals", Args: args}}
		return p, true
	case w.has("why", "investigate", "cause") || w.phrase("root cause") || w.phrase("wrong with") && svc != "":
		return why(p, w, svc), true
	case w.has("similar") || w.phrase("seen this before") || w.phrase("happened before"):
		p.Intent, p.Interpretation = "similar", "incidents like the current one"
		p.Calls = []Call{{Tool: "list_incidents", Args: map[string]any{"status": "active"}}, {Tool: "similar_incidents", Args: map[string]any{}}}
		return p, true
	case w.has("incident*", "outage*", "alert*", "broken", "fire") || w.phrase("what is wrong") || w.phrase("whats wrong"):
		args := map[string]any{}
		switch {
		case w.has("resolved", "closed", "fixed"):
			args["status"] = "resolved"
		case w.has("open", "active", "ongoing", "current", "now", "fire", "broken", "wrong") || !said:
			if w.has("open", "active", "ongoing", "current", "now", "fire", "broken", "wrong", "any") {
				args["status"] = "active"
			}
		}
		if said {
			args["from"], args["to"] = win.From, win.To
		}
		p.Intent, p.Interpretation = "incidents", "incidents"+statusWords(args)+windowWords(said, win)
		p.Calls = []Call{{Tool: "list_incidents", Args: args}}
		return p, true
	case w.has("change*", "deploy*", "release*", "rollout*", "rolled"):
		args := map[string]any{}
		if svc != "" {
			args["service"] = svc
		}
		if said {
			args["from"], args["to"] = win.From, win.To
		}
		p.Intent, p.Interpretation = "changes", "changes"+serviceWords(svc)+windowWords(said, win)
		p.Calls = []Call{{Tool: "list_changes", Args: args}}
		return p, true
	}
	return Plan{}, false
}

func why(p Plan, w words, svc string) Plan {
	p.Intent = "why"
	p.Calls = []Call{{Tool: "list_incidents", Args: map[string]any{"status": "active"}}}
	if svc == "" {
		p.Interpretation = "why: the open incidents and their investigations"
		return p
	}
	what := "slow"
	if w.has("error*", "fail*", "broken", "down", "5xx", "500") {
		what = "failing"
	}
	p.Interpretation = "why " + svc + " is " + what + ": its open incident's investigation, or a new one"
	p.Calls = append(p.Calls, Call{Tool: "start_investigation", Args: map[string]any{"service": svc}})
	return p
}

// bubble is a question about what the bad requests have in common.
func bubble(w words, svc string, win Window, said bool) (Plan, bool) {
	// "Which customers ..." asks who; "... by region" asks for a breakdown.
	who := w.has("which", "what", "who") && w.has("customer*", "user*", "tenant*", "region*", "client*", "account*", "version*", "browser*", "device*", "host*", "pod*", "zone*") &&
		!w.has("by", "per")
	common := w.phrase("in common") || w.has("share", "different", "difference", "bubble*", "distinguish*")
	errs := w.has("error*", "fail*", "erroring", "5xx")
	slow := w.has("slow*", "latency")
	if !(common || who && (errs || slow || w.has("affected", "impacted"))) {
		return Plan{}, false
	}
	p := Plan{Intent: "bubbleup"}
	filters := []any{}
	if svc != "" {
		filters = append(filters, map[string]any{"field": "service", "value": svc})
	}
	if slow && !errs {
		p.Interpretation = "what the slow requests" + serviceWords(svc) + " have in common (slower than their p95)" + windowWords(said, win)
		agg := withWindow(map[string]any{"filters": filters, "aggregations": []any{map[string]any{"op": "p95", "field": "duration_ms"}}}, said, win)
		bu := withWindow(map[string]any{"filters": filters, "selection": []any{map[string]any{"field": "duration_ms", "op": ">", "value": "$p95"}}}, said, win)
		p.Calls = []Call{{Tool: "aggregate", Args: agg}, {Tool: "bubble_up", Args: bu}}
		return p, true
	}
	p.Interpretation = "what the failed requests" + serviceWords(svc) + " have in common" + windowWords(said, win)
	args := map[string]any{"selection": []any{map[string]any{"field": "status", "value": "error"}}}
	if len(filters) > 0 {
		args["filters"] = filters
	}
	p.Calls = []Call{{Tool: "bubble_up", Args: withWindow(args, said, win)}}
	return p, true
}

func resource(p Plan, w words, svc string, win Window, said bool) Plan {
	name, what := "process.cpu.utilization", "CPU"
	if w.has("memory", "mem", "ram") {
		name, what = "process.memory.usage", "memory"
	}
	args := map[string]any{"name": name}
	if svc != "" {
		args["labels"] = map[string]any{"service.name": svc}
	}
	if g := groupBy(w); len(g) > 0 && g[0] == "service" {
		args["group_by"] = []any{"service.name"}
	}
	p.Intent, p.Interpretation = "metric", what+serviceWords(svc)+windowWords(said, win)
	p.Calls = []Call{{Tool: "query_metrics", Args: withWindow(args, said, win)}}
	return p
}

// measure is a question about latency, errors or traffic: one aggregate,
// or two when it compares with another time.
func measure(w words, svc string, win Window, said bool) (Plan, bool) {
	p := Plan{Intent: "measure", Service: svc}
	slowest := w.has("slowest", "worst")
	switch {
	case slowest:
		p.Measure, p.Agg = "latency", "p99"
	case w.has("error*", "fail*", "erroring", "5xx", "failure*"):
		p.Measure = "errors"
	case w.has("traffic", "throughput", "rps", "qps") || w.phrase("per second") || w.phrase("per minute"):
		p.Measure = "traffic"
	case w.has("latency", "latencies", "slow*", "duration*", "p50", "p75", "p90", "p95", "p99", "p999", "median", "percentile", "average", "avg", "mean") ||
		w.phrase("response time") || w.phrase("how long"):
		p.Measure = "latency"
	case w.has("requests", "calls", "count", "volume", "hits") || w.phrase("how many"):
		p.Measure = "count"
	default:
		return Plan{}, false
	}
	filters := []any{}
	if svc != "" {
		filters = append(filters, map[string]any{"field": "service", "value": svc})
	}
	args := map[string]any{}
	if len(filters) > 0 {
		args["filters"] = filters
	}
	group := groupBy(w)
	var desc string
	switch p.Measure {
	case "latency":
		if p.Agg == "" {
			p.Agg = percentile(w)
		}
		args["aggregations"] = []any{map[string]any{"op": p.Agg, "field": "duration_ms"}}
		desc = p.Agg + " latency"
	case "errors":
		group = append(group, "status")
		args["aggregations"] = []any{map[string]any{"op": "count"}}
		desc = "error rate"
	case "traffic":
		args["aggregations"] = []any{map[string]any{"op": "rate"}}
		desc = "requests per second"
	case "count":
		args["aggregations"] = []any{map[string]any{"op": "count"}}
		desc = "requests"
	}
	if slowest {
		by := "name"
		if w.has("services", "service") && svc == "" {
			by = "service"
		}
		group = []string{by}
		args["aggregations"] = []any{map[string]any{"op": "p99", "field": "duration_ms"}, map[string]any{"op": "count"}}
		args["order_by"], args["limit"] = "p99(duration_ms)", 10
		desc = "the slowest " + map[string]string{"name": "endpoints", "service": "services"}[by] + " by p99 latency"
	}
	if len(group) > 0 {
		gs := make([]any, len(group))
		for i, g := range group {
			gs[i] = g
		}
		args["group_by"] = gs
	}
	p.Interpretation = desc + serviceWords(svc) + groupWords(group)
	if cmp, back := comparison(w); cmp != "" {
		p.Compare = cmp
		now := withWindow(cloneArgs(args), true, Window{From: "now-1h", To: "now"})
		then := withWindow(cloneArgs(args), true, Window{From: fmt.Sprintf("now-%dh", 1+back), To: fmt.Sprintf("now-%dh", back)})
		p.Interpretation += ": the last hour against the same hour " + cmp
		p.Calls = []Call{{Tool: "aggregate", Args: now}, {Tool: "aggregate", Args: then}}
		return p, true
	}
	if len(group) == 0 || p.Measure == "errors" && len(group) == 1 {
		args["bucket"] = bucket(win)
	}
	p.Interpretation += windowWords(said, win)
	p.Calls = []Call{{Tool: "aggregate", Args: withWindow(args, true, win)}}
	return p, true
}

// comparison finds "compared with yesterday / last week" and how many
// hours back that is.
func comparison(w words) (string, int) {
	if !w.has("compare*", "vs", "versus", "than", "against") && !w.phrase("compared to") {
		return "", 0
	}
	switch {
	case w.has("yesterday"):
		return "yesterday", 24
	case w.phrase("last week"):
		return "last week", 168
	}
	return "", 0
}

func percentile(w words) string {
	for _, t := range w {
		switch t {
		case "p50", "p75", "p90", "p95", "p99", "p999":
			if t == "p75" || t == "p999" {
				return "p99"
			}
			return t
		case "50th", "90th", "95th", "99th":
			return "p" + strings.TrimSuffix(t, "th")
		}
	}
	switch {
	case w.has("median"):
		return "p50"
	case w.has("average", "avg", "mean"):
		return "avg"
	case w.has("max", "maximum", "worst", "longest"):
		return "max"
	case w.has("min", "minimum", "fastest"):
		return "min"
	}
	return "p99"
}

// groupAliases maps what people group by to fields.
var groupAliases = map[string]string{"service": "service", "services": "service", "endpoint": "name", "endpoints": "name",
	"route": "name", "routes": "name", "operation": "name", "operations": "name", "span": "name", "name": "name",
	"status": "status", "host": "res.host.name", "hosts": "res.host.name", "pod": "res.k8s.pod.name", "pods": "res.k8s.pod.name",
	"region": "attr.region", "regions": "attr.region", "customer": "attr.customer.id", "customers": "attr.customer.id",
	"tier": "attr.customer.tier", "version": "attr.version", "versions": "attr.version", "method": "attr.http.request.method",
	"code": "attr.http.response.status_code", "provider": "attr.payment_provider"}

// groupBy reads "by region", "per service", "grouped by route", "for each
// endpoint".
func groupBy(w words) []string {
	var out []string
	for i, t := range w {
		if (t == "by" || t == "per" || t == "each") && i+1 < len(w) {
			next := w[i+1]
			if next == "the" && i+2 < len(w) {
				next = w[i+2]
			}
			f, ok := groupAliases[next]
			if ok && next == "customer" && i+2 < len(w) && w[i+2] == "tier" {
				f = "attr.customer.tier"
			}
			if !ok {
				if _, isUnit := units[next]; isUnit || next == "" {
					continue
				}
				f = "attr." + next
			}
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// findService finds the service a question names: the token (or two
// joined by a dash) that is a known name, ignoring case, or one typo from
// one.
func findService(w words, services []string) string {
	lower := map[string]string{}
	for _, s := range services {
		lower[strings.ToLower(s)] = s
	}
	cands := make([]string, 0, 2*len(w))
	for i, t := range w {
		if i+1 < len(w) {
			cands = append(cands, t+"-"+w[i+1], t+w[i+1])
		}
		cands = append(cands, t, strings.TrimSuffix(t, "s"))
	}
	for _, c := range cands {
		if s, ok := lower[c]; ok {
			return s
		}
	}
	best, bestD := "", 3
	for _, c := range cands {
		if len(c) < 5 || stop[c] {
			continue
		}
		for l, s := range lower {
			if d := distance(c, l); (d == 1 || d == 2 && len(l) >= 8) && d < bestD {
				best, bestD = s, d
			}
		}
	}
	return best
}

// stop are words that must not be read as a typo of a service name.
var stop = map[string]bool{"latency": true, "errors": true, "error": true, "requests": true, "service": true, "services": true,
	"slowest": true, "today": true, "since": true, "changes": true, "change": true, "deploy": true, "incidents": true, "traffic": true,
	"throughput": true, "memory": true, "hours": true, "minutes": true, "yesterday": true, "compare": true, "failing": true}

func cloneArgs(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func withWindow(args map[string]any, said bool, win Window) map[string]any {
	if said {
		args["from"], args["to"] = win.From, win.To
	}
	return args
}

// bucket is a time bucket that draws the window in about 30 points.
func bucket(win Window) string {
	d := time.Hour
	if rel, ok := strings.CutPrefix(win.From, "now-"); ok && win.To == "now" {
		if v, err := time.ParseDuration(rel); err == nil {
			d = v
		}
	} else if f, err := time.Parse(time.RFC3339, win.From); err == nil {
		to := time.Now()
		if t, err := time.Parse(time.RFC3339, win.To); err == nil {
			to = t
		}
		d = to.Sub(f)
	}
	for _, b := range []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
		15 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 24 * time.Hour} {
		if d/b <= 40 {
			switch {
			case b%time.Hour == 0:
				return fmt.Sprintf("%dh", b/time.Hour)
			case b%time.Minute == 0:
				return fmt.Sprintf("%dm", b/time.Minute)
			}
			return fmt.Sprintf("%ds", b/time.Second)
		}
	}
	return "24h"
}

func serviceWords(svc string) string {
	if svc == "" {
		return ""
	}
	return " of " + svc
}

func groupWords(g []string) string {
	var shown []string
	for _, f := range g {
		if f != "status" {
			shown = append(shown, f)
		}
	}
	if len(shown) == 0 {
		return ""
	}
	return " by " + strings.Join(shown, ", ")
}

func windowWords(said bool, win Window) string {
	if !said {
		return ""
	}
	return " over " + win.Said
}

func statusWords(args map[string]any) string {
	if s, ok := args["status"].(string); ok {
		return " (" + s + ")"
	}
	return ""
}

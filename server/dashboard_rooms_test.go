package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/storage/storetest"
)

// TestUploadPage drives the dashboard's upload page in Chromium: real
// Zipkin traces, an NDJSON file with one line the server refuses, and an
// NDJSON file larger than one request (sent in pieces cut at line ends)
// are picked at once; each row shows the format found, the records
// accepted (as many as the store then holds), the refusal with its reason,
// and the time range with a link that opens Explore on it.
func TestUploadPage(t *testing.T) {
	bin := storetest.RequireBinary(t, "chromium", "chromium")
	s := start(t)
	dir := t.TempDir()
	zipkin, err := filepath.Abs("../ingest/zipkin/testdata/smartthings-mobile-web-install.json")
	require.NoError(t, err)

	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	var small strings.Builder
	for i := range 3 {
		fmt.Fprintf(&small, `{"timestamp": %q, "service": "upload-small", "name": "line %d"}`+"\n", base.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i)
	}
	fmt.Fprintf(&small, `{"timestamp": %q, "service": "upload-small", "name": "from the future"}`+"\n", time.Now().Add(48*time.Hour).Format(time.RFC3339))
	smallPath := filepath.Join(dir, "small.ndjson")
	require.NoError(t, os.WriteFile(smallPath, []byte(small.String()), 0o644))

	var large strings.Builder
	pad := strings.Repeat("x", 200)
	n := 0
	for large.Len() < 10<<20 { // more than one 8 MiB piece
		fmt.Fprintf(&large, `{"timestamp": %q, "service": "upload-large", "name": "op", "note": %q}`+"\n", base.Add(time.Duration(n)*time.Millisecond).Format(time.RFC3339Nano), pad)
		n++
	}
	largePath := filepath.Join(dir, "large.ndjson")
	require.NoError(t, os.WriteFile(largePath, []byte(large.String()), 0o644))

	ctx := browser(t, bin, chromedp.WindowSize(1280, 700))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/#upload")), chromedp.WaitVisible(chromedp.CSS(`#upload-zone`))))
	require.NoError(t, chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(`#upload-input`), []string{zipkin, smallPath, largePath})))

	type row struct{ Name, Format, Accepted, Refused, Range, Link string }
	var rows []row
	require.Eventually(t, func() bool {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll("#upload-results tbody tr")].map(r => ({
			Name: r.cells[0].textContent, Format: r.cells[3].textContent, Accepted: r.cells[4].textContent, Refused: r.cells[5].textContent,
			Range: r.cells[6].textContent, Link: (r.cells[7].querySelector("a") || {}).href || ""}))`))
		if err != nil || len(got) != 3 {
			return false
		}
		for _, r := range got {
			if r.Accepted == "" && !strings.Contains(r.Refused, "answered") {
				return false
			}
		}
		rows = got
		return true
	}, 2*time.Minute, 100*time.Millisecond, "three rows with their summaries")
	screenshot(t, ctx, "upload")
	byName := map[string]row{}
	for _, r := range rows {
		byName[r.Name] = r
	}

	z := byName["smartthings-mobile-web-install.json"]
	assert.Equal(t, "zipkin-json", z.Format)
	assert.Equal(t, "none", z.Refused)
	accepted, err := strconv.Atoi(z.Accepted)
	require.NoError(t, err)
	assert.Positive(t, accepted)

	sm := byName["small.ndjson"]
	assert.Equal(t, "json-events", sm.Format)
	assert.Equal(t, "3", sm.Accepted)
	assert.Contains(t, sm.Refused, "1 refused")
	assert.Contains(t, sm.Refused, "in the future", "the reason is shown")
	assert.Contains(t, sm.Range, base.Format(time.RFC3339))

	lg := byName["large.ndjson"]
	assert.Equal(t, strconv.Itoa(n), lg.Accepted, "every line of the pieces")
	eventually(t, "the store holds what the page says", func() bool {
		return s.countIn(t, "now-2h", eq("service", "upload-large")) == float64(n) && s.countIn(t, "now-2h", eq("service", "upload-small")) == 3
	})

	// The link opens Explore on what was loaded.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(sm.Link), chromedp.WaitVisible(chromedp.CSS(`#explore-form`))))
	from, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("from").value`))
	require.NoError(t, err)
	assert.Equal(t, base.Format(time.RFC3339), from)
}

// countIn counts the events matching filters from from until now.
func (s *testServer) countIn(t *testing.T, from string, filters ...map[string]any) float64 {
	t.Helper()
	var resp struct {
		Aggregate struct{ Groups []struct{ Values []*float64 } }
	}
	s.gql.MustPost(`query($r: TimeRangeInput!, $f: [FilterInput!]) { aggregate(input: {range: $r, filters: $f}) { groups { values } } }`, &resp,
		client.Var("r", map[string]any{"from": from, "to": "now"}), client.Var("f", filters))
	if len(resp.Aggregate.Groups) == 0 || resp.Aggregate.Groups[0].Values[0] == nil {
		return 0
	}
	return *resp.Aggregate.Groups[0].Values[0]
}

// TestPipelinePage opens the pipeline page in Chromium and sends events
// while it is open: the receivers' accepted count grows with them, the
// rate between two readings is above zero, the writers and the store show
// the rows, and the refused line is among the newest dead letters.
func TestPipelinePage(t *testing.T) {
	bin := storetest.RequireBinary(t, "chromium", "chromium")
	s := start(t)
	send := func(n int, bad bool) {
		t.Helper()
		var b strings.Builder
		now := time.Now().UTC()
		for i := range n {
			fmt.Fprintf(&b, `{"timestamp": %q, "service": "pipe", "name": "op %d"}`+"\n", now.Add(-time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i)
		}
		if bad {
			fmt.Fprintf(&b, `{"timestamp": %q, "service": "pipe", "name": "late"}`+"\n", now.Add(-30*24*time.Hour).Format(time.RFC3339))
		}
		code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(b.String()))
		require.Equal(t, 200, code, msg)
	}
	send(50, true)
	ctx := browser(t, bin, chromedp.WindowSize(1280, 900))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/#pipeline")), chromedp.WaitVisible(chromedp.CSS(`#stage-receivers`))))
	textOf := func(sel string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`) || {}).textContent || ""`))
		require.NoError(t, err)
		return v
	}
	require.Eventually(t, func() bool { return strings.Contains(textOf("#stage-receivers"), "50 accepted since start") },
		20*time.Second, 100*time.Millisecond, "the receivers' count: %s", textOf("#stage-receivers"))
	send(200, false)
	require.Eventually(t, func() bool {
		return strings.Contains(textOf("#stage-receivers"), "250 accepted since start") && !strings.HasPrefix(textOf("#stage-receivers .big"), "0/s")
	}, 20*time.Second, 100*time.Millisecond, "the page reads again and takes a rate: %s", textOf("#stage-receivers"))
	require.Eventually(t, func() bool { return strings.Contains(textOf("#stage-store"), "250 rows") },
		20*time.Second, 100*time.Millisecond, "the store's rows: %s", textOf("#stage-store"))
	assert.Contains(t, textOf("#pipeline-records"), "/accepted")
	assert.Contains(t, textOf("#pipeline-records"), "/rejected")
	assert.Contains(t, textOf("#pipeline-dead"), "older than the retention")
	screenshot(t, ctx, "pipeline")
}

// TestSettingsPage changes the tenant's approval policy, adds a runbook and
// adds then deletes an alert rule on the settings page in Chromium, and
// reads each change back through GraphQL.
func TestSettingsPage(t *testing.T) {
	bin := storetest.RequireBinary(t, "chromium", "chromium")
	s := start(t)
	ctx := browser(t, bin, chromedp.WindowSize(1280, 1200))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/#settings")), chromedp.WaitVisible(chromedp.CSS(`#policy-form`))))
	note := func(want string) {
		t.Helper()
		require.Eventually(t, func() bool {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("settings-note") || {}).textContent || ""`))
			return err == nil && strings.Contains(v, want)
		}, 20*time.Second, 100*time.Millisecond, "the page says %q", want)
	}

	// The medium tier: one SRE, 20 minutes, then the high tier.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`tr[data-risk="medium"] .p-approvers`), "sre"),
		chromedp.SetValue(chromedp.CSS(`tr[data-risk="medium"] .p-timeout`), "20m"),
		chromedp.SetValue(chromedp.CSS(`tr[data-risk="medium"] .p-escalate`), "high"),
		chromedp.SetValue(chromedp.CSS(`#p-levels`), "payments-lead = team-lead"),
		chromedp.Click(chromedp.CSS(`#policy-save`))))
	note("The approval policy is saved.")
	var pol struct {
		ApprovalPolicy struct {
			Source string
			Tiers  []struct {
				Risk, Timeout, EscalateTo string
				Approvers                 []string
			}
			Levels []struct{ Role, Level string }
		}
	}
	s.gql.MustPost(`{ approvalPolicy { source tiers { risk approvers timeout escalateTo } levels { role level } } }`, &pol)
	assert.Equal(t, "api", pol.ApprovalPolicy.Source)
	for _, tier := range pol.ApprovalPolicy.Tiers {
		if tier.Risk == "medium" {
			assert.Equal(t, []string{"sre"}, tier.Approvers)
			assert.Equal(t, "20m0s", tier.Timeout)
			assert.Equal(t, "high", tier.EscalateTo)
		}
	}
	assert.Contains(t, pol.ApprovalPolicy.Levels, struct{ Role, Level string }{"payments-lead", "team-lead"})

	// A runbook of the tenant's.
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#runbook-form`)),
		chromedp.SetValue(chromedp.CSS(`#rb-name`), "payment rollback"), chromedp.SetValue(chromedp.CSS(`#rb-service`), "payment"),
		chromedp.SetValue(chromedp.CSS(`#rb-cause`), "bad_deploy"), chromedp.SetValue(chromedp.CSS(`#rb-action`), "rollback"),
		chromedp.SetValue(chromedp.CSS(`#rb-params`), "version={{previous_version}}"),
		chromedp.Click(chromedp.CSS(`#runbook-form button[type=submit]`))))
	note("Runbook payment rollback saved.")
	var rbs struct {
		Runbooks []struct {
			Name, Action, Source string
			Params               []struct{ Key, Value string }
		}
	}
	s.gql.MustPost(`{ runbooks { name action source params { key value } } }`, &rbs)
	require.Len(t, rbs.Runbooks, 1)
	assert.Equal(t, "api", rbs.Runbooks[0].Source)
	assert.Equal(t, []struct{ Key, Value string }{{"version", "{{previous_version}}"}}, rbs.Runbooks[0].Params)

	// An alert rule, added and deleted.
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#rule-form`)),
		chromedp.SetValue(chromedp.CSS(`#ru-name`), "checkout slow"), chromedp.SetValue(chromedp.CSS(`#ru-service`), "checkout"),
		chromedp.SetValue(chromedp.CSS(`#ru-value`), "800"), chromedp.SetValue(chromedp.CSS(`#ru-for`), "2m"),
		chromedp.Click(chromedp.CSS(`#rule-form button[type=submit]`))))
	note("Rule checkout slow added.")
	var rules struct {
		Rules []struct{ Name, Signal, Op, For string }
	}
	s.gql.MustPost(`{ rules { name signal op for } }`, &rules)
	require.Len(t, rules.Rules, 1)
	assert.Equal(t, struct{ Name, Signal, Op, For string }{"checkout slow", "p99_ms", ">", "2m0s"}, rules.Rules[0])
	screenshot(t, ctx, "settings")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#rule-list button.delete`))))
	note("Rule checkout slow deleted.")
	s.gql.MustPost(`{ rules { name signal op for } }`, &rules)
	assert.Empty(t, rules.Rules)
}

// TestServiceMapReadable draws the map of real traces (a production
// Zipkin capture, 16 services): every service has its box, no two boxes
// overlap, every name fits its box (cut to fit, the full name its tooltip),
// and no two boxes read the same.
func TestServiceMapReadable(t *testing.T) {
	bin := storetest.RequireBinary(t, "chromium", "chromium")
	s := start(t)
	body, err := os.ReadFile("../ingest/zipkin/testdata/smartthings-mobile-web-install.json")
	require.NoError(t, err)
	code, msg, _ := post(t, s.url("/v1/ingest"), "application/json", body, "X-Inquest-Import", "true")
	require.Equal(t, 200, code, msg)
	var sum struct{ From, To string }
	require.NoError(t, json.Unmarshal([]byte(msg), &sum))
	var m struct {
		ServiceMap struct{ Nodes []struct{ Name string } }
	}
	eventually(t, "the map has the trace's services", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { serviceMap(range: $r) { nodes { name } } }`, &m, client.Var("r", map[string]any{"from": sum.From, "to": sum.To}))
		return len(m.ServiceMap.Nodes) >= 10
	})
	ctx := browser(t, bin, chromedp.WindowSize(1400, 1000))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/?from="+sum.From+"&to="+sum.To+"#map")), chromedp.WaitVisible(chromedp.CSS(`#map svg .node`))))
	type box struct {
		Label, Title      string
		X, Y, W, H, TextW float64
	}
	boxes, err := chromedp.Run(ctx, chromedp.Evaluate[[]box](`[...document.querySelectorAll("#map svg .node")].map(g => {
		const r = g.querySelector("rect").getBoundingClientRect(), t = g.querySelector("text.name");
		return { Label: t.textContent, Title: g.querySelector("title").textContent, X: r.x, Y: r.y, W: r.width, H: r.height, TextW: t.getBoundingClientRect().width };
	})`))
	require.NoError(t, err)
	require.Len(t, boxes, len(m.ServiceMap.Nodes), "a box per service")
	labels := map[string]bool{}
	for i, a := range boxes {
		assert.LessOrEqual(t, a.TextW, a.W-8, "%q fits its box", a.Title)
		assert.False(t, labels[a.Label], "two boxes read %q", a.Label)
		labels[a.Label] = true
		for _, b := range boxes[i+1:] {
			overlap := a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
			assert.False(t, overlap, "%s and %s overlap", a.Title, b.Title)
		}
	}
	screenshot(t, ctx, "map-zipkin")
}

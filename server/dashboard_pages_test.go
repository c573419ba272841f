package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/evidence"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/storetest"
)

// seedIncident stores what the detectors, an investigation and the
// approval flow make of the shop's events: an incident of checkout and
// payment, its finished investigation blaming payment's deploy (with a
// BubbleUp evidence item and its query), and a pending rollback.
func seedDashboardIncident(t *testing.T, s *testServer, now time.Time) {
	ctx := context.Background()
	a := domain.Anomaly{Tenant: "default", ID: "an-dash", Series: "red:checkout:p99_ms", Service: "checkout", Signal: "p99_ms",
		StartNano: now.Add(-90 * time.Second).UnixNano(), Severity: "high", Expected: 60, Observed: 1000, Lower: 20, Upper: 120,
		Detector: "mad", Explanation: "checkout p99 latency 1.00 s (expected 60 ms)", IncidentID: "inc-dash"}
	require.NoError(t, s.Store().PutAnomalies(ctx, []domain.Anomaly{a}))
	require.NoError(t, s.Store().PutIncident(ctx, domain.Incident{Tenant: "default", ID: "inc-dash", Title: "checkout: p99 latency 1.00 s (expected 60 ms); also payment",
		Severity: "high", Status: domain.IncidentOpen, Services: []string{"payment", "checkout"}, AnomalyIDs: []string{a.ID},
		OpenedNano: a.StartNano, UpdatedNano: a.StartNano,
		Timeline: []domain.IncidentEvent{{TimeUnixNano: a.StartNano, Kind: "opened", Text: "opened: checkout p99 latency 1.00 s"}}}))
	window := domain.TimeRange{Start: now.Add(-5 * time.Minute).UnixNano(), End: now.Add(time.Minute).UnixNano()}
	require.NoError(t, s.Store().PutInvestigation(ctx, domain.Investigation{Tenant: "default", ID: "inv-dash", IncidentID: "inc-dash",
		Trigger: "incident", Status: domain.InvestigationDone, StartedNano: a.StartNano, FinishedNano: now.UnixNano(),
		Summary: "payment's deploy 2.3.1 made its charges slow for stripe_v3", Hypotheses: []domain.Hypothesis{{
			Service: "payment", Cause: domain.CauseBadDeploy, Confidence: 0.91, Path: []string{"checkout", "payment"},
			Evidence: []domain.Evidence{
				{Kind: "bubbleup", Text: "payment_provider=stripe_v3 is 100% of the slow requests (33% before)", Strength: 0.9,
					Query: evidence.BubbleUp(window, []evidence.Filter{evidence.Eq("service", "checkout")},
						[]evidence.Filter{{Field: "duration_ms", Op: "GT", Value: "500"}}, nil)},
				{Kind: "change", Text: "payment: deploy 2.3.1 (was 2.3.0), 2m before the onset", Strength: 0.8,
					Query: evidence.Aggregate(window, []evidence.Filter{evidence.Eq("service", "payment")}, "30s", evidence.Aggregation{Op: "P99", Field: "duration_ms"})},
			}}}}))
	at := now.UnixNano()
	created, err := s.Store().CreateProposal(ctx, domain.Proposal{Tenant: "default", ID: "prop-dash", IncidentID: "inc-dash", InvestigationID: "inv-dash",
		Action: "rollback", Target: "payment", Params: map[string]string{"version": "2.3.0"}, Risk: domain.RiskMedium, Status: domain.ProposalPending,
		Rationale: "Hypothesis: bad_deploy (confidence 0.91). Evidence: payment: deploy 2.3.1 (was 2.3.0).", Expected: "payment's p99 back inside its band",
		ProposedBy: "inquest", ProposedNano: at, UpdatedNano: at, ExpiresNano: at + int64(30*time.Minute),
		History: []domain.ProposalEvent{{AtNano: at, Kind: "proposed", Actor: "inquest", Text: "rollback payment (medium risk)"}}})
	require.NoError(t, err)
	require.True(t, created)
}

// TestDashboardPages drives every page of the dashboard in headless
// Chromium against the shop's events: the overview draws trends, an
// Explore query runs from its shared address and a new one changes the
// address, a trace's waterfall marks its critical path and shows a span's
// attributes, the incident page shows the investigation and its BubbleUp
// and approves the rollback (the new state arrives by subscription), and
// the ask box answers from the header. Each page is saved as a screenshot
// when INQUEST_SCREENSHOTS names a directory.
func TestDashboardPages(t *testing.T) {
	bin := storetest.RequireBinary(t, "chromium", "chromium")
	s := start(t)
	now := time.Now().UTC()
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(shopEvents(now)))
	require.Equal(t, http.StatusOK, code, msg)
	eventually(t, "stored", func() bool { return s.count(t, eq("service", "payment")) == 120 })
	seedDashboardIncident(t, s, now)

	ctx := browser(t, bin, chromedp.WindowSize(1280, 900))
	shot := func(name string) { screenshot(t, ctx, name) }
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return v
	}
	waitText := func(sel, want string) {
		t.Helper()
		var v string
		ok := assert.Eventually(t, func() bool {
			var err error
			v, err = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`) || {}).textContent || ""`))
			return err == nil && strings.Contains(v, want)
		}, 20*time.Second, 100*time.Millisecond, "%s shows %q", sel, want)
		if !ok {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#view").innerText`))
			t.Fatalf("the page shows: %s", page)
		}
	}

	// Overview: the services with their trends.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/")), chromedp.WaitVisible(chromedp.CSS(`#services tbody tr svg.spark path`))))
	assert.Contains(t, text(`#services tbody`), "checkout")
	assert.Contains(t, text(`#incidents tbody`), "checkout: p99 latency 1.00 s")
	shot("overview")

	// Explore from a shared address, then a new query changes it.
	state, _ := json.Marshal(map[string]any{"filters": []map[string]string{{"field": "service", "op": "EQ", "value": "checkout"}},
		"groupBy": []string{"attr.region"}, "agg": "P99", "field": "duration_ms", "bucket": "none"})
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/#explore="+url.QueryEscape(string(state)))),
		chromedp.WaitVisible(chromedp.CSS(`#explore-results tbody tr`))))
	results := text(`#explore-results tbody`)
	assert.Contains(t, results, "eu")
	assert.Contains(t, results, "us")
	shot("explore")
	require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#groupby`), "attr.payment_provider"), chromedp.Click(chromedp.CSS(`#run`))))
	waitText(`#explore-results tbody`, "stripe_v3")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, loc, "attr.payment_provider", "the address holds the query")

	// Over time, and BubbleUp on a stretch dragged across the chart.
	state, _ = json.Marshal(map[string]any{"filters": []map[string]string{{"field": "service", "op": "EQ", "value": "checkout"}},
		"agg": "COUNT", "bucket": "10s", "from": now.Add(-3 * time.Minute).Format(time.RFC3339), "to": now.Add(time.Minute).Format(time.RFC3339)})
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/#explore="+url.QueryEscape(string(state)))),
		chromedp.WaitVisible(chromedp.CSS(`#explore-chart svg path.series`))))
	// The table gives the count over the whole range, not an average of
	// the buckets' counts.
	waitText(`#explore-results tbody`, "120")
	assert.Contains(t, text(`#explore-results thead`), "over the range")
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const svg = document.querySelector("#explore-chart svg"), r = svg.getBoundingClientRect();
		const at = (f, type) => svg.dispatchEvent(new PointerEvent(type, { clientX: r.left + r.width * f, clientY: r.top + r.height / 2, bubbles: true }));
		at(0.5, "pointerdown"); at(0.8, "pointermove"); at(0.8, "pointerup");
		return true;
	})()`))
	require.NoError(t, err)
	waitText(`#bubbleup`, "BubbleUp:")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#bubbleup-bars svg, #bubbleup .empty`))))
	shot("explore-bubbleup")

	// The traces with a slow payment span, then a trace's waterfall.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/#traces="+url.QueryEscape(`{"service":"payment","minMs":"500"}`))),
		chromedp.WaitVisible(chromedp.CSS(`#trace-list tbody tr a`))))
	// One row per trace with a slow payment span: 40 of the 120, each
	// named by its root (checkout's), with both services and its full id.
	list, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#trace-list tbody tr")].map(r => r.innerText)`))
	require.NoError(t, err)
	assert.Len(t, list, 40)
	for _, row := range list {
		assert.Contains(t, row, "checkout: POST /checkout")
		assert.Contains(t, row, "checkout, payment")
		assert.Regexp(t, `\btr\d+\b`, row, "the full trace id")
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/#trace=tr3")), chromedp.WaitVisible(chromedp.CSS(`#waterfall .wf-row`))))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#waterfall .wf-row").length`))
	require.NoError(t, err)
	assert.Equal(t, 2, rows)
	critical, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#waterfall .wf-row.critical").length`))
	require.NoError(t, err)
	assert.Equal(t, 2, critical, "checkout waited on payment: both are on the critical path")
	overlaps, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll("#waterfall .wf-row")].filter(r =>
		r.querySelector(".wf-ms").getBoundingClientRect().left < r.querySelector(".wf-track").getBoundingClientRect().right).length`))
	require.NoError(t, err)
	assert.Zero(t, overlaps, "a duration label never lies over the bars")
	failedKey, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#view .key.failed").length`))
	require.NoError(t, err)
	assert.Zero(t, failedKey, "no failed span, no 'failed' legend")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#waterfall .wf-row`)), chromedp.WaitVisible(chromedp.CSS(`#span-attrs`))))
	assert.Contains(t, text(`#span-attrs`), "stripe_v3")
	shot("trace")

	// The service map.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/#map")), chromedp.WaitVisible(chromedp.CSS(`#map svg .node`))))
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#map svg .node").length`))
	require.NoError(t, err)
	assert.Equal(t, 2, nodes)
	shot("map")

	// The incident: investigation, BubbleUp bars, approval by subscription.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/#incident=inc-dash"))))
	waitText(`#view`, "payment: bad deploy")
	waitText(`#hypothesis-1 .bubble`, "stripe_v3")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#anomalies svg .band`))))
	assert.Contains(t, text(`#hypothesis-1`), "payment: bad deploy")
	assert.Contains(t, text(`#hypothesis-1 .bubble`), "stripe_v3")
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#hypothesis-1 a.open").getAttribute("href")`))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(href, "#explore="), "evidence opens in Explore: %s", href)
	shot("incident")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#proposal-prop-dash button.approve`))))
	require.Eventually(t, func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#proposal-prop-dash .badge") || {}).dataset?.status || ""`))
		return err == nil && v == "succeeded"
	}, 30*time.Second, 100*time.Millisecond, "the approval's outcome arrives by subscription")
	p, err := s.Store().Proposal(context.Background(), "default", "prop-dash")
	require.NoError(t, err)
	require.Len(t, p.Approvals, 1)
	assert.Equal(t, "graphql", p.Approvals[0].Channel)
	waitText(`#audit`, "proposal.approved prop-dash")
	shot("incident-approved")

	// The ask box, from the header.
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#ask-q`), "p99 latency of checkout by region over the last hour\n"),
		chromedp.WaitVisible(chromedp.CSS(`#ask-text`))))
	assert.Regexp(t, `eu \d+`, text(`#ask-text`))
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#ask-chart svg`))))
	shot("ask")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

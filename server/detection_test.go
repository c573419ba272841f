package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/notify"
	"github.com/inquest/inquest/storage/storetest"
)

type incidentMsg struct {
	IncidentUpdated struct {
		ID, Title, Severity, Status, OpenedAt string
		Services                              []string
	}
}

// TestDemoFaultOpensIncident runs the demo web shop with its bad payment
// deploy and watches the incident subscription: one incident naming
// payment first, with checkout and frontend affected, opens soon after the
// fault, none before it, and a webhook hears of it. Its investigation
// finds the bad deploy, and one approval of the proposed rollback closes
// the loop: once through GraphQL, once through a signed Slack interaction
// on the message Inquest posted (two demos, one after the other).
func TestDemoFaultOpensIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for four minutes")
	}
	// One after the other: two demos side by side load two cores enough
	// to make the shop's traffic itself jitter (CI once saw postgres's
	// request rate taken for part of the fault).
	for _, via := range []string{"graphql", "slack"} {
		t.Run(via, func(t *testing.T) { demoLoop(t, via) })
	}
}

func demoLoop(t *testing.T, via string) {
	var mu sync.Mutex
	var hooks []notify.WebhookPayload
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.WebhookPayload
		if json.NewDecoder(r.Body).Decode(&p) == nil {
			mu.Lock()
			hooks = append(hooks, p)
			mu.Unlock()
		}
	}))
	defer hook.Close()
	const faultAfter = 150 * time.Second
	started := time.Now()
	slackAPI := newSlackAPI(t)
	s := start(t, func(c *config.Config) {
		c.Demo, c.DemoFaultAfter = true, faultAfter
		c.InvestigationSettle = config.Default().InvestigationSettle
		c.NotifyWebhookURL = hook.URL
		if via == "slack" {
			c.SlackBotToken, c.SlackSigningSecret, c.SlackChannel, c.SlackAPIURL = "xoxb-test", slackSecret, "C0INCIDENTS", slackAPI.URL
			c.SlackUsers = []string{"UCAROL=carol:responder,approver:team-lead"}
		}
	})
	sub := s.gql.Websocket(`subscription { incidentUpdated { id title severity status services openedAt } }`)
	defer sub.Close()
	anomalies := s.gql.Websocket(`subscription { anomalyDetected { service signal detector explanation incidentId } }`)
	defer anomalies.Close()

	// Anomalies are read from the start: a subscriber that falls behind
	// misses updates by design, and the quiet minutes have some.
	var anMu sync.Mutex
	var seen []string // incident ids of the anomalies streamed
	go func() {
		for {
			var an struct {
				AnomalyDetected struct{ Service, Signal, Detector, Explanation, IncidentID string }
			}
			if anomalies.Next(&an) != nil {
				return
			}
			anMu.Lock()
			if an.AnomalyDetected.Explanation != "" {
				seen = append(seen, an.AnomalyDetected.IncidentID)
			}
			anMu.Unlock()
		}
	}()

	faultAt := started.Add(faultAfter)
	deadline := faultAt.Add(90 * time.Second)
	var got incidentMsg
	msgs := make(chan incidentMsg)
	stop := make(chan struct{})
	defer close(stop) // before sub.Close: the reader is not left sending
	go func() {
		defer close(msgs)
		for {
			var msg incidentMsg
			if err := sub.Next(&msg); err != nil {
				return
			}
			select {
			case msgs <- msg:
			case <-stop:
				return
			}
		}
	}()
	for {
		var msg incidentMsg
		select {
		case m, ok := <-msgs:
			require.True(t, ok, "the subscription ended")
			msg = m
		case <-time.After(time.Until(deadline)):
			t.Fatalf("no incident with payment, checkout and frontend by %s", deadline)
		}
		opened, err := time.Parse(time.RFC3339Nano, msg.IncidentUpdated.OpenedAt)
		require.NoError(t, err)
		require.False(t, opened.Before(faultAt.Add(-10*time.Second)),
			"an incident opened in the quiet time before the fault: %+v", msg.IncidentUpdated)
		if len(msg.IncidentUpdated.Services) >= 3 {
			got = msg
			break
		}
		require.True(t, time.Now().Before(deadline), "no incident with payment, checkout and frontend by %s", deadline)
	}
	in := got.IncidentUpdated
	t.Logf("incident %s at +%s after the fault: %q", in.ID, time.Since(faultAt).Round(time.Second), in.Title)
	assert.Equal(t, "payment", in.Services[0], "the root-most service first")
	assert.Contains(t, in.Services, "checkout")
	assert.Contains(t, in.Services, "frontend")
	opened, _ := time.Parse(time.RFC3339Nano, in.OpenedAt)
	assert.Less(t, opened.Sub(faultAt), 30*time.Second, "opened within 30 s of the fault")

	eventually(t, "an anomaly of the incident comes through anomalyDetected, with its explanation", func() bool {
		anMu.Lock()
		defer anMu.Unlock()
		return slices.Contains(seen, in.ID)
	})

	var list struct {
		Incidents []struct {
			ID        string
			Services  []string
			Anomalies []struct{ Service, Explanation string }
		}
	}
	s.gql.MustPost(`query($r: TimeRangeInput!) { incidents(range: $r) { id services anomalies { service explanation } } }`, &list,
		client.Var("r", lastHour))
	require.Len(t, list.Incidents, 1, "one incident, not one per service")
	assert.NotEmpty(t, list.Incidents[0].Anomalies)
	eventually(t, "the webhook hears of it", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(hooks) > 0 && hooks[0].ID == list.Incidents[0].ID
	})

	var ack struct {
		AcknowledgeIncident struct{ Status, AcknowledgedBy string }
	}
	s.gql.MustPost(fmt.Sprintf(`mutation { acknowledgeIncident(id: %q) { status acknowledgedBy } }`, in.ID), &ack)
	assert.Equal(t, "acknowledged", ack.AcknowledgeIncident.Status)

	investigatedByItself(t, s, in.ID)
	if via == "graphql" {
		whyIsCheckoutSlow(t, s)
	}
	remediatedOnApproval(t, s, in.ID, via, slackAPI)
}

// remediatedOnApproval closes the loop on the demo: the investigation
// proposed rolling payment back to 2.3.0; one approval (through GraphQL,
// or a team lead's press of the Approve button on the Slack message)
// executes it through the demo shop's deploy API (a signed webhook), the
// fault stops, verification sees payment's anomalies end, and the
// incident resolves — every step in the proposal's history and the audit
// log.
func remediatedOnApproval(t *testing.T, s *testServer, incident, via string, slackAPI *slackAPI) {
	type proposal struct {
		ID, Action, Target, Risk, Status string
		Params                           []struct{ Key, Value string }
		History                          []struct{ Kind, Text string }
		Execution                        *struct{ Executor, Output, Verified string }
		Approvals                        []struct{ Actor, Channel string }
	}
	var inc struct {
		Incident struct{ Proposals []proposal }
	}
	var rollback proposal
	eventually(t, "the investigation proposed a rollback", func() bool {
		s.gql.MustPost(fmt.Sprintf(`{ incident(id: %q) { proposals { id action target risk status params { key value } } } }`, incident), &inc)
		for _, p := range inc.Incident.Proposals {
			if p.Action == "rollback" {
				rollback = p
				return true
			}
		}
		return false
	})
	assert.Equal(t, "payment", rollback.Target)
	assert.Equal(t, "medium", rollback.Risk)
	assert.Equal(t, "pending", rollback.Status)
	assert.Contains(t, rollback.Params, struct{ Key, Value string }{"version", "2.3.0"})

	var page context.Context
	if via == "slack" {
		approveOnSlack(t, s, slackAPI, rollback.ID)
	} else if _, err := exec.LookPath("chromium"); err == nil || os.Getenv("CI") == "true" {
		// As a person would: on the incident's page, with the
		// investigation on it, press Approve.
		page = browser(t, storetest.RequireBinary(t, "chromium", "chromium"), chromedp.WindowSize(1280, 1000))
		require.NoError(t, chromedp.Do(page, chromedp.Navigate(s.url("/#incident="+incident)),
			chromedp.WaitVisible(chromedp.CSS(`#hypothesis-1`)), chromedp.WaitVisible(chromedp.CSS(`#proposal-`+rollback.ID+` button.approve`))))
		screenshot(t, page, "demo-incident")
		require.NoError(t, chromedp.Do(page, chromedp.Click(chromedp.CSS(`#proposal-`+rollback.ID+` button.approve`))))
	} else {
		var approved struct{ ApproveProposal proposal }
		s.gql.MustPost(fmt.Sprintf(`mutation { approveProposal(id: %q, comment: "roll it back") { id status execution { executor output } } }`, rollback.ID), &approved)
		require.NotNil(t, approved.ApproveProposal.Execution)
		assert.Equal(t, "executing", approved.ApproveProposal.Status, "executed; verification watches")
		assert.Equal(t, "webhook", approved.ApproveProposal.Execution.Executor)
		assert.Contains(t, approved.ApproveProposal.Execution.Output, "payment rolled back to 2.3.0")
	}

	var done struct {
		Proposal proposal
		Incident struct{ Status string }
	}
	ok := assert.Eventually(t, func() bool {
		s.gql.MustPost(fmt.Sprintf(`{ proposal(id: %q) { status history { kind text } execution { verified } approvals { actor channel } } incident(id: %q) { status } }`,
			rollback.ID, incident), &done)
		return done.Proposal.Status == "succeeded" && done.Incident.Status == "resolved"
	}, 4*time.Minute, time.Second, "the rollback is verified and the incident resolves (proposal %s)", rollback.ID)
	if !ok {
		// Say where it stopped: the proposal's history, what verification
		// saw, and the incident's anomalies.
		var an struct {
			Incident struct {
				Anomalies []struct{ Series, Start, End string }
			}
		}
		s.gql.MustPost(fmt.Sprintf(`{ incident(id: %q) { anomalies { series start end } } }`, incident), &an)
		t.Fatalf("proposal %s: %+v; incident %s; anomalies %+v", rollback.ID, done.Proposal, done.Incident.Status, an.Incident.Anomalies)
	}
	var kinds []string
	for _, h := range done.Proposal.History {
		kinds = append(kinds, h.Kind)
	}
	assert.Equal(t, []string{"proposed", "approved", "executing", "executed", "succeeded"}, kinds)
	assert.Contains(t, done.Proposal.Execution.Verified, "payment's")
	if page != nil {
		require.Eventually(t, func() bool {
			st, err := chromedp.Run(page, chromedp.Evaluate[string](`(document.querySelector("#incident-status") || {}).textContent || ""`))
			return err == nil && st == "resolved"
		}, time.Minute, 200*time.Millisecond, "the page shows the incident resolved (by subscription, or its refresh every 10 s)")
		screenshot(t, page, "demo-incident-resolved")
	}
	require.Len(t, done.Proposal.Approvals, 1, "one approval closed the loop")
	// The incident's end is credited to the rollback, the one proposal of
	// the incident: the services behind payment are its symptoms, and get
	// no page or ticket of their own.
	var closed struct {
		Incident struct {
			Timeline  []struct{ Kind, Actor string }
			Proposals []proposal
		}
	}
	s.gql.MustPost(fmt.Sprintf(`{ incident(id: %q) { timeline { kind actor } proposals { id action target status } } }`, incident), &closed)
	var resolvedBy []string
	for _, e := range closed.Incident.Timeline {
		if e.Kind == "resolved" {
			resolvedBy = append(resolvedBy, e.Actor)
		}
	}
	require.NotEmpty(t, resolvedBy)
	assert.Contains(t, resolvedBy[len(resolvedBy)-1], rollback.ID, "resolved to the rollback's credit")
	for _, p := range closed.Incident.Proposals {
		assert.Equal(t, "payment", p.Target, "a proposal for the root cause only: %+v", p)
	}
	assert.Equal(t, via, done.Proposal.Approvals[0].Channel)
	var log struct {
		AuditLog []struct{ Action, Target string }
	}
	s.gql.MustPost(`{ auditLog(range: {from: "now-1h", to: "now+1m"}) { action target } }`, &log)
	seen := map[string]bool{}
	for _, e := range log.AuditLog {
		if e.Target == rollback.ID {
			seen[e.Action] = true
		}
	}
	for _, a := range []string{"proposal.proposed", "proposal.approved", "proposal.executing", "proposal.succeeded"} {
		assert.True(t, seen[a], "%s is in the audit log", a)
	}
}

// investigatedByItself follows the incident's own investigation on
// investigationProgress to its end and checks what it found: payment's
// bad deploy, with BubbleUp's provider, the deploy and the path.
func investigatedByItself(t *testing.T, s *testServer, incident string) {
	var inc struct {
		Incident struct {
			Investigation *struct{ ID, Status string }
		}
	}
	eventually(t, "the incident has an investigation", func() bool {
		s.gql.MustPost(fmt.Sprintf(`{ incident(id: %q) { investigation { id status } } }`, incident), &inc)
		return inc.Incident.Investigation != nil
	})
	id := inc.Incident.Investigation.ID
	sub := s.gql.Websocket(fmt.Sprintf(`subscription { investigationProgress(id: %q) { seq kind step text status } }`, id))
	defer sub.Close()
	var kinds []string
	for seq := 1; ; seq++ {
		var line struct {
			InvestigationProgress struct {
				Seq                      int
				Kind, Step, Text, Status string
			}
		}
		require.NoError(t, next(t, sub, &line))
		l := line.InvestigationProgress
		require.Equal(t, seq, l.Seq, "lines come in order, none twice")
		kinds = append(kinds, l.Kind)
		if l.Kind == "done" {
			assert.Equal(t, "done", l.Status)
			break
		}
	}
	assert.Contains(t, kinds, "step_started")
	assert.Contains(t, kinds, "finding")
	var got struct {
		Investigation struct {
			Status     string
			Hypotheses []struct {
				Rank     int
				Service  string
				Cause    string
				Path     []string
				Evidence []struct {
					Kind, Text string
					Query      *struct{ Field, Variables string }
				}
			}
		}
	}
	s.gql.MustPost(fmt.Sprintf(`{ investigation(id: %q) { status hypotheses { rank service cause path evidence { kind text query { field variables } } } } }`, id), &got)
	require.NotEmpty(t, got.Investigation.Hypotheses)
	top := got.Investigation.Hypotheses[0]
	assert.Equal(t, 1, top.Rank)
	assert.Equal(t, "payment", top.Service)
	assert.Equal(t, "bad_deploy", top.Cause)
	assert.Equal(t, []string{"frontend", "checkout", "payment"}, top.Path)
	var texts []string
	for _, e := range top.Evidence {
		texts = append(texts, e.Text)
		if e.Kind == "bubbleup" {
			require.NotNil(t, e.Query)
			assert.Equal(t, "bubbleUp", e.Query.Field)
		}
	}
	joined := strings.Join(texts, "\n")
	assert.Contains(t, joined, "payment_provider=stripe_v3")
	assert.Contains(t, joined, "deploy 2.3.1")
}

func TestRulesThroughGraphQL(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	responder := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "t1", time.Hour, "responder"))
	viewer := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "t1", time.Hour, "viewer"))

	var created struct {
		CreateRule struct{ ID, Name, Kind, For string }
	}
	s.gql.MustPost(`mutation { createRule(input: {name: "checkout errors", kind: THRESHOLD, service: "checkout",
		signal: "error_ratio", op: ">", value: 0.05, for: "1m"}) { id name kind for } }`, &created, responder)
	assert.Equal(t, "THRESHOLD", created.CreateRule.Kind)
	assert.Equal(t, "1m0s", created.CreateRule.For)

	err := s.gql.Post(`mutation { createRule(input: {name: "x", kind: SLO, service: "payment", objective: 99.9}) { id } }`, &created, responder)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "objective 99.9: want a ratio between 0 and 1")
	err = s.gql.Post(`mutation { createRule(input: {name: "x", kind: SLO, service: "payment", objective: 0.999}) { id } }`, &created, viewer)
	require.Error(t, err, "a viewer cannot create rules")

	var list struct{ Rules []struct{ ID, Name string } }
	s.gql.MustPost(`{ rules { id name } }`, &list, viewer)
	require.Len(t, list.Rules, 1)
	assert.Equal(t, "checkout errors", list.Rules[0].Name)
	var del struct{ DeleteRule bool }
	s.gql.MustPost(fmt.Sprintf(`mutation { deleteRule(id: %q) }`, list.Rules[0].ID), &del, responder)
	assert.True(t, del.DeleteRule)
	err = s.gql.Post(fmt.Sprintf(`mutation { deleteRule(id: %q) }`, list.Rules[0].ID), &del, responder)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not found")
}

// TestAnomaliesLeaveOutWhatDrivesNothing: an anomaly that belongs to no
// incident (a rare metric series appearing) is kept and listed only when
// asked for all.
func TestAnomaliesLeaveOutWhatDrivesNothing(t *testing.T) {
	s := start(t)
	now := time.Now().UnixNano()
	require.NoError(t, s.Store().PutAnomalies(context.Background(), []domain.Anomaly{
		{Tenant: "default", ID: "worthy", Series: "red:payment:p99_ms", Service: "payment", Signal: "p99_ms", StartNano: now,
			Severity: "high", Explanation: "p99", IncidentID: "inc-1"},
		{Tenant: "default", ID: "noise", Series: `metric:http_server_duration_count{status_code="500"}`, Signal: "rate",
			StartNano: now, Severity: "low", Explanation: "a rare series appeared"},
	}))
	var resp struct {
		Anomalies []struct {
			ID             string
			IncidentWorthy bool
		}
	}
	s.gql.MustPost(`query($r: TimeRangeInput!) { anomalies(filter: {range: $r}) { id incidentWorthy } }`, &resp, client.Var("r", lastHour))
	require.Len(t, resp.Anomalies, 1, "the default leaves out what drives nothing")
	assert.Equal(t, "worthy", resp.Anomalies[0].ID)
	assert.True(t, resp.Anomalies[0].IncidentWorthy)
	s.gql.MustPost(`query($r: TimeRangeInput!) { anomalies(filter: {range: $r, all: true}) { id incidentWorthy } }`, &resp, client.Var("r", lastHour))
	require.Len(t, resp.Anomalies, 2, "all: true lists it too")
	for _, a := range resp.Anomalies {
		assert.Equal(t, a.ID == "worthy", a.IncidentWorthy, a.ID)
	}
}

// TestAcceptNewNormalThroughGraphQL: a responder accepts an incident's
// level as the new normal; it is on the timeline and in the audit log, and
// a viewer may not.
func TestAcceptNewNormalThroughGraphQL(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	now := time.Now().UnixNano()
	require.NoError(t, s.Store().PutIncident(context.Background(), domain.Incident{Tenant: "t1", ID: "inc-1", Title: "payment: p99",
		Severity: "high", Status: domain.IncidentOpen, Services: []string{"payment"}, OpenedNano: now, UpdatedNano: now,
		Timeline: []domain.IncidentEvent{{TimeUnixNano: now, Kind: "opened", Text: "opened"}}}))
	responder := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "t1", time.Hour, "responder"))
	viewer := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "t1", time.Hour, "viewer"))
	admin := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "t1", time.Hour, "admin"))

	var resp struct {
		AcceptNewNormal struct {
			Status   string
			Timeline []struct{ Kind, Text, Actor string }
		}
	}
	require.Error(t, s.gql.Post(`mutation { acceptNewNormal(id: "inc-1") { status } }`, &resp, viewer), "a viewer may not")
	s.gql.MustPost(`mutation { acceptNewNormal(id: "inc-1") { status timeline { kind text actor } } }`, &resp, responder)
	last := resp.AcceptNewNormal.Timeline[len(resp.AcceptNewNormal.Timeline)-1]
	assert.Equal(t, "accepted", last.Kind)
	assert.Contains(t, last.Text, "new normal")
	assert.Equal(t, "open", resp.AcceptNewNormal.Status, "the incident resolves by itself once its anomalies have ended")

	var audit struct {
		AuditLog []struct{ Action, Target string }
	}
	s.gql.MustPost(`query($r: TimeRangeInput!) { auditLog(range: $r) { action target } }`, &audit, client.Var("r", lastHour), admin)
	found := false
	for _, e := range audit.AuditLog {
		found = found || (e.Action == "incident.accept_new_normal" && e.Target == "inc-1")
	}
	assert.True(t, found, "audited: %+v", audit.AuditLog)
}

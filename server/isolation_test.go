package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/assist/tools"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
)

// fieldQueries has one query per GraphQL Query field. The test fails when
// the schema gains a field without a case here, so no field escapes the
// isolation check.
var fieldQueries = map[string]string{
	"aggregate":      `{ aggregate(input: {range: $R, groupBy: ["service", "attr.secret"], aggregations: [{op: COUNT}, {op: COUNT_DISTINCT, field: "trace_id"}]}) { groups { key values } } }`,
	"events":         `{ events(range: $R, first: 1000) { events { service name body traceId attributes { key value } resource { key value } } } }`,
	"trace":          `{ trace(id: "$TRACE") { spans { span { service name } } } }`,
	"traces":         `{ traces(range: $R, limit: 1000) { traceId services rootService rootName } }`,
	"pipeline":       `{ pipeline { records { key value } rows { key value } } }`,
	"services":       `{ services(range: $R) { name } }`,
	"serviceMap":     `{ serviceMap(range: $R) { nodes { name } edges { source target } } }`,
	"metricSeries":   `{ metricSeries(input: {name: "$METRIC", range: $R, step: "1h"}) { name labels { key value } } }`,
	"metricNames":    `{ metricNames(range: $R) }`,
	"deadLetters":    `{ deadLetters(range: $R) { reason payloadPreview } }`,
	"apiKeys":        `{ apiKeys { id name createdBy } }`,
	"usage":          `{ usage(range: $R) { tenant events bytes queries } }`,
	"auditLog":       `{ auditLog(range: $R) { actor action target detail } }`,
	"anomalies":      `{ anomalies(filter: {range: $R}) { series service explanation } }`,
	"incidents":      `{ incidents(range: $R) { id title services anomalies { service explanation } } }`,
	"incident":       `{ incident(id: "$INCIDENT") { title services timeline { text } anomalies { service } investigation { summary } proposals { target } } }`,
	"investigation":  `{ investigation(id: "$INVESTIGATION") { summary hypotheses { service summary evidence { text } } } }`,
	"investigations": `{ investigations(range: $R) { id summary } }`,
	"proposal":       `{ proposal(id: "$PROPOSAL") { id target rationale } }`,
	"proposals":      `{ proposals(range: $R) { id target rationale } }`,
	"rules":          `{ rules { id name service } }`,
	"approvalPolicy": `{ approvalPolicy { source levels { role level } } }`,
	"runbooks":       `{ runbooks { name service action } }`,
	"ask":            `{ ask(question: "list services", range: $R) { answer table { rows } toolCalls { result } } }`,
	"bubbleUp": `{ bubbleUp(input: {range: $R, selection: [{field: "name", op: NE, value: "none"}], baseline: {from: "2001-01-01T00:00:00Z", to: "2001-01-02T00:00:00Z"}, limit: 50, values: 50}) {
		selection fields { field values { value } } } }`,
}

// TestTenantIsolationEveryField loads data for two tenants, then asks every
// query field (and the live tail) as tenant A and checks that no trace of
// tenant B's data comes back, while A's own data does.
func TestTenantIsolationEveryField(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	// Admins, so that every field is open to them.
	toks := map[string]string{"tenanta": tokenWithRoles(t, "tenanta", time.Hour, "admin"), "tenantb": tokenWithRoles(t, "tenantb", time.Hour, "admin")}

	now := time.Now()
	load := func(tenant string) {
		tag := strings.ToUpper(tenant) // TENANTA / TENANTB appears in everything the tenant sends
		events := fmt.Sprintf(`{"timestamp": %q, "service": "svc-%s", "name": "op-%s", "trace_id": "trace%s", "span_id": "root%s", "duration_ms": 5, "secret": "%s"}
{"timestamp": %q, "service": "db-%s", "name": "q-%s", "trace_id": "trace%s", "span_id": "child%s", "parent_span_id": "root%s", "duration_ms": 2}
{"timestamp": %q, "service": "svc-%s", "body": "log of %s", "level": "error"}`,
			now.Format(time.RFC3339Nano), tag, tag, tenant, tenant, tag,
			now.Format(time.RFC3339Nano), tag, tag, tenant, tenant, tenant,
			now.Format(time.RFC3339Nano), tag, tag)
		code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(events), "Authorization", "Bearer "+toks[tenant])
		require.Equal(t, http.StatusOK, code, msg)
		body := remoteWrite(t, rwSeries("metric_"+tenant, "owner", tag, now))
		code, msg, _ = post(t, s.url("/api/v1/write"), "application/x-protobuf", body, "Content-Encoding", "snappy", "Authorization", "Bearer "+toks[tenant])
		require.Equal(t, http.StatusNoContent, code, msg)
		// A refused record, so that dead letters exist for both tenants.
		code, _, _ = post(t, s.url("/v1/events"), "application/json",
			[]byte(fmt.Sprintf(`{"service": "dl-%s", "name": "late", "timestamp": "2001-01-01T00:00:00Z"}`, tag)), "Authorization", "Bearer "+toks[tenant])
		require.Equal(t, http.StatusBadRequest, code)
		// An anomaly and an incident, as the detectors would store them.
		a := domain.Anomaly{Tenant: tenant, ID: "an-" + tenant, Series: "red:svc-" + tag + ":p99_ms", Service: "svc-" + tag,
			Signal: "p99_ms", StartNano: now.UnixNano(), Severity: "high", Explanation: "p99 of " + tag, IncidentID: "inc-" + tenant}
		require.NoError(t, s.Store().PutAnomalies(context.Background(), []domain.Anomaly{a}))
		require.NoError(t, s.Store().PutIncident(context.Background(), domain.Incident{Tenant: tenant, ID: "inc-" + tenant,
			Title: "incident of " + tag, Severity: "high", Status: domain.IncidentOpen, Services: []string{"svc-" + tag},
			AnomalyIDs: []string{a.ID}, OpenedNano: now.UnixNano(), UpdatedNano: now.UnixNano(),
			Timeline: []domain.IncidentEvent{{TimeUnixNano: now.UnixNano(), Kind: "opened", Text: "opened for " + tag}}}))
		require.NoError(t, s.Store().PutInvestigation(context.Background(), domain.Investigation{Tenant: tenant, ID: "inv-" + tenant,
			IncidentID: "inc-" + tenant, Trigger: "incident", Status: domain.InvestigationDone, StartedNano: now.UnixNano(),
			Summary: "investigation of " + tag, Hypotheses: []domain.Hypothesis{{Service: "svc-" + tag, Cause: domain.CauseUnknown,
				Summary: "svc-" + tag, Evidence: []domain.Evidence{{Kind: "latency", Text: "slow " + tag}}}}}))
		made, err := s.Store().CreateProposal(context.Background(), domain.Proposal{Tenant: tenant, ID: "prop-" + tenant,
			IncidentID: "inc-" + tenant, Action: "rollback", Target: "svc-" + tag, Rationale: "undo " + tag, Risk: domain.RiskMedium,
			Status: domain.ProposalPending, ProposedNano: now.UnixNano()})
		require.NoError(t, err)
		require.True(t, made)
		require.NoError(t, s.Store().PutRule(context.Background(), domain.Rule{Tenant: tenant, ID: "rule-" + tenant,
			Name: "rule of " + tag, Kind: domain.RuleSLO, Service: "svc-" + tag, Objective: 0.99, CreatedNano: now.UnixNano()}))
		var created map[string]any
		s.gql.MustPost(`mutation { createAPIKey(name: "key-`+tag+`", role: VIEWER) { secret } }`, &created,
			client.AddHeader("Authorization", "Bearer "+toks[tenant]))
		s.gql.MustPost(`mutation { setApprovalPolicy(tiers: [], levels: [{role: "lead-`+tag+`", level: "team-lead"}]) { source } }`, &created,
			client.AddHeader("Authorization", "Bearer "+toks[tenant]))
		s.gql.MustPost(`mutation { putRunbook(input: {name: "runbook-`+tag+`", service: "svc-`+tag+`", action: "restart", risk: low}) { name } }`, &created,
			client.AddHeader("Authorization", "Bearer "+toks[tenant]))
		// A change event, for list_changes.
		code, msg, _ = post(t, s.url("/v1/events"), "application/json", []byte(fmt.Sprintf(
			`{"timestamp": %q, "service": "svc-%s", "name": "deploy", "kind": "event", "change.type": "deploy", "version": "v-%s"}`,
			now.Format(time.RFC3339Nano), tag, tag)), "Authorization", "Bearer "+toks[tenant])
		require.Equal(t, http.StatusOK, code, msg)
	}
	load("tenanta")
	load("tenantb")

	// Every Query field has a case.
	var schema struct {
		Schema struct {
			QueryType struct{ Fields []struct{ Name string } }
		} `json:"__schema"`
	}
	s.gql.MustPost(`{ __schema { queryType { fields { name } } } }`, &schema, client.AddHeader("Authorization", "Bearer "+toks["tenanta"]))
	for _, f := range schema.Schema.QueryType.Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		_, ok := fieldQueries[f.Name]
		assert.True(t, ok, "Query.%s has no isolation case in fieldQueries", f.Name)
	}

	r := fmt.Sprintf(`{from: %q, to: "now+1h"}`, now.Add(-time.Hour).Format(time.RFC3339))
	ask := func(who, field, owner string) (string, error) {
		q := strings.NewReplacer("$R", r, "$TRACE", "trace"+owner, "$METRIC", "metric_"+owner, "$INCIDENT", "inc-"+owner,
			"$INVESTIGATION", "inv-"+owner, "$PROPOSAL", "prop-"+owner).Replace(fieldQueries[field])
		var out map[string]any
		if err := s.gql.Post(q, &out, client.AddHeader("Authorization", "Bearer "+toks[who])); err != nil {
			return "", err
		}
		b, err := json.Marshal(out)
		return string(b), err
	}
	for field := range fieldQueries {
		if field == "pipeline" {
			// Every tenant's figures together: the operator's (the default
			// tenant's admins), never another tenant's.
			_, err := ask("tenanta", field, "tenanta")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "FORBIDDEN")
			continue
		}
		eventually(t, "tenant A sees its own "+field, func() bool {
			got, err := ask("tenanta", field, "tenanta")
			return err == nil && strings.Contains(strings.ToUpper(got), "TENANTA")
		})
		// Asking directly for B's trace and metric as A, and in general.
		for _, target := range []string{"tenanta", "tenantb"} {
			got, err := ask("tenanta", field, target)
			require.NoError(t, err, field)
			assert.NotContains(t, got, "TENANTB", "Query.%s leaked tenant B's data to tenant A", field)
			assert.NotContains(t, got, "tenantb", "Query.%s leaked tenant B's data to tenant A", field)
		}
	}

	mcpIsolation(t, s, toks, now)

	// The live tail: A's subscription sees A's new events, never B's.
	sub := s.gql.WebsocketWithPayload(`subscription { tail { service } }`, map[string]any{"Authorization": "Bearer " + toks["tenanta"]})
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			for tenant, tag := range map[string]string{"tenantb": "TENANTB", "tenanta": "TENANTA"} {
				r, _ := http.NewRequest(http.MethodPost, s.url("/v1/events"), strings.NewReader(`{"service": "live-`+tag+`", "name": "n"}`))
				r.Header.Set("Authorization", "Bearer "+toks[tenant])
				if resp, err := http.DefaultClient.Do(r); err == nil {
					resp.Body.Close()
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	for range 5 {
		var msg struct{ Tail struct{ Service string } }
		require.NoError(t, next(t, sub, &msg))
		assert.Equal(t, "live-TENANTA", msg.Tail.Service)
	}
}

// toolCases has one call per MCP tool ($OWNER is the tenant whose data it
// names). The test fails when the registry gains a tool without a case.
var toolCases = map[string]map[string]any{
	"list_services":       {"from": "$FROM"},
	"service_map":         {"from": "$FROM"},
	"aggregate":           {"from": "$FROM", "group_by": []any{"service", "attr.secret"}},
	"search_events":       {"from": "$FROM", "limit": 50},
	"get_trace":           {"trace_id": "trace$OWNER"},
	"query_metrics":       {"from": "$FROM", "name": "metric_$OWNER"},
	"top_errors":          {"from": "$FROM"},
	"bubble_up":           {"from": "$FROM", "selection": []any{map[string]any{"field": "name", "op": "!=", "value": "none"}}},
	"list_incidents":      {"from": "$FROM"},
	"get_incident":        {"id": "inc-$OWNER"},
	"start_investigation": {"incident_id": "inc-$OWNER"},
	"get_investigation":   {"id": "inv-$OWNER"},
	"similar_incidents":   {"incident_id": "inc-$OWNER"},
	"list_changes":        {"from": "$FROM"},
	"list_proposals":      {"from": "$FROM"},
	"approve_proposal":    {"id": "prop-$OWNER"},
	"reject_proposal":     {"id": "prop-$OWNER", "reason": "not now"},
}

// mcpIsolation calls every MCP tool as tenant A, for A's and for B's
// data: A's own comes back (read tools), B's never does.
func mcpIsolation(t *testing.T, s *testServer, toks map[string]string, now time.Time) {
	c := mcpSession(t, s, toks["tenanta"])
	names := toolNames(t, c)
	reg := tools.New()
	for _, name := range names {
		assert.Contains(t, toolCases, name, "MCP tool %s has no isolation case in toolCases", name)
	}
	fill := func(v any, owner string) any {
		b, _ := json.Marshal(v)
		r := strings.NewReplacer("$OWNER", owner, "$FROM", now.Add(-time.Hour).Format(time.RFC3339)).Replace(string(b))
		var out map[string]any
		_ = json.Unmarshal([]byte(r), &out)
		return out
	}
	for _, name := range names {
		args := toolCases[name]
		if args == nil {
			continue
		}
		// Write tools change rather than show; similar_incidents shows
		// other incidents, and A's has none.
		ownless := name == "approve_proposal" || name == "reject_proposal" || name == "start_investigation" || name == "similar_incidents"
		if !ownless {
			var text string
			eventually(t, "tenant A sees its own data through "+name, func() bool {
				var isErr bool
				text, isErr = callTool(t, c, name, fill(args, "tenanta").(map[string]any))
				return !isErr && strings.Contains(strings.ToUpper(text), "TENANTA")
			})
			// What came back is what the tool's output schema says.
			tool, _ := reg.Get(name)
			var schema jsonschema.Schema
			require.NoError(t, json.Unmarshal(tool.OutputSchema, &schema))
			resolved, err := schema.Resolve(nil)
			require.NoError(t, err)
			var v any
			require.NoError(t, json.Unmarshal([]byte(text), &v))
			assert.NoError(t, resolved.Validate(v), "%s's output does not match its schema", name)
		}
		asked := fill(args, "tenantb").(map[string]any)
		text, _ := callTool(t, c, name, asked)
		// A "not found" that repeats the id asked for is no leak.
		for _, v := range asked {
			if id, ok := v.(string); ok && strings.Contains(id, "tenantb") {
				text = strings.ReplaceAll(text, id, "")
			}
		}
		assert.NotContains(t, strings.ToUpper(text), "TENANTB", "MCP tool %s leaked tenant B's data to tenant A", name)
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/assist/tools"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
)

// hintArgs are arguments each tool is called with in TestMCPHintsMatchEffects;
// a tool missing here fails the test, so that a new tool is held to its
// hints too.
func hintArgs(incident, investigation string) map[string]map[string]any {
	return map[string]map[string]any{
		"list_services":       {},
		"service_map":         {},
		"aggregate":           {"group_by": []string{"service"}, "aggregations": []map[string]any{{"op": "count"}}},
		"search_events":       {"filters": []map[string]any{{"field": "service", "value": "checkout"}}},
		"get_trace":           {"trace_id": "t1"},
		"query_metrics":       {},
		"top_errors":          {},
		"bubble_up":           {"selection": []map[string]any{{"field": "status", "value": "error"}}},
		"list_incidents":      {},
		"get_incident":        {"id": incident},
		"get_investigation":   {"id": investigation},
		"similar_incidents":   {"incident_id": incident},
		"list_changes":        {},
		"list_proposals":      {},
		"start_investigation": {"service": "checkout", "from": "now-10m"},
		"approve_proposal":    {"id": "prop-approve", "comment": "hints test"},
		"reject_proposal":     {"id": "prop-reject", "reason": "hints test"},
	}
}

// TestMCPHintsMatchEffects holds every tool's MCP annotations to what a call
// does, since clients auto-approve tools that say they only read. Each tool
// is called twice through a real MCP client, with the tenant's incidents,
// investigations and proposals read through GraphQL before and after:
// read-only ⇒ nothing changed; not read-only ⇒ something did; not
// destructive ⇒ only additions; destructive ⇒ an existing record changed;
// idempotent ⇒ the second call changed nothing more, and not idempotent ⇒
// it did.
func TestMCPHintsMatchEffects(t *testing.T) {
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	ctx := context.Background()
	now := time.Now().UTC()
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(cartEvents(now)), "Authorization", "Bearer "+tokenFor(t, "acme", "ci", "ingest"))
	require.Equal(t, http.StatusOK, code, msg)
	require.NoError(t, s.Store().PutIncident(ctx, domain.Incident{Tenant: "acme", ID: "inc-hints", Title: "checkout: errors",
		Severity: "high", Status: domain.IncidentOpen, Services: []string{"checkout"},
		OpenedNano: now.Add(-5 * time.Minute).UnixNano(), UpdatedNano: now.Add(-5 * time.Minute).UnixNano()}))
	pendingRollback(t, s.Store(), "acme", "prop-approve", "alice")
	pendingRollback(t, s.Store(), "acme", "prop-reject", "alice")

	admin := client.AddHeader("Authorization", "Bearer "+tokenFor(t, "acme", "root", "admin"))
	var started struct{ StartInvestigation struct{ ID string } }
	s.gql.MustPost(`mutation { startInvestigation(input: {incidentId: "inc-hints"}) { id } }`, &started, admin)
	settled := func() map[string]string {
		var got map[string]string
		eventually(t, "nothing on its way", func() bool {
			var running bool
			got, running = hintState(t, s, admin)
			return !running
		})
		return got
	}

	c := mcpSession(t, s, tokenFor(t, "acme", "carol", "responder", "approver:vp"))
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	require.NoError(t, err)
	listed := map[string]mcp.Tool{}
	for _, tool := range list.Tools {
		listed[tool.Name] = tool
	}
	args := hintArgs("inc-hints", started.StartInvestigation.ID)
	// Tools that read first, so that each later call starts from a settled state.
	all := tools.New().All()
	sort.SliceStable(all, func(i, j int) bool { return all[i].Effect < all[j].Effect })
	for _, tool := range all {
		t.Run(tool.Name, func(t *testing.T) {
			mt, ok := listed[tool.Name]
			require.True(t, ok, "a responder who approves is offered %s", tool.Name)
			a, ok := args[tool.Name]
			require.True(t, ok, "give %s arguments in hintArgs", tool.Name)
			h := mt.Annotations
			require.NotNil(t, h.ReadOnlyHint)
			require.NotNil(t, h.DestructiveHint)
			require.NotNil(t, h.IdempotentHint)
			require.NotNil(t, h.OpenWorldHint)

			before := settled()
			text, isErr := callTool(t, c, tool.Name, a)
			require.False(t, isErr, "%s: %s", tool.Name, text)
			once := settled()
			text, _ = callTool(t, c, tool.Name, a) // a repeat may be refused
			twice := settled()

			changed, added := diffState(before, once)
			if *h.ReadOnlyHint {
				for _, k := range changed {
					t.Logf("%s: %s → %s", k, before[k], once[k])
				}
				assert.Empty(t, changed, "%s says it only reads but changed records", tool.Name)
				assert.Empty(t, added, "%s says it only reads but added records", tool.Name)
				return
			}
			assert.NotEmpty(t, append(changed, added...), "%s says it writes, and a call changed nothing", tool.Name)
			if *h.DestructiveHint {
				assert.NotEmpty(t, changed, "%s says it is destructive, and changed no existing record", tool.Name)
			} else {
				assert.Empty(t, changed, "%s says it only adds, but changed existing records", tool.Name)
			}
			changed, added = diffState(once, twice)
			if *h.IdempotentHint {
				assert.Empty(t, append(changed, added...), "%s says a repeat changes nothing more, and it did (%s)", tool.Name, text)
			} else {
				assert.NotEmpty(t, append(changed, added...), "%s says a repeat has an effect, and it had none", tool.Name)
			}
		})
	}
}

// hintState reads the tenant's incidents, investigations and proposals as
// id → what a tool call may change, and whether something is still on its
// way (an investigation running, a proposal auto-executing): its status
// moves without any call.
func hintState(t *testing.T, s *testServer, as client.Option) (map[string]string, bool) {
	t.Helper()
	var out struct {
		Incidents []struct {
			ID, Status string
			Services   []string
		}
		Investigations []struct{ ID, Status string }
		Proposals      []struct {
			ID, Status string
			History    []struct{ Kind string }
		}
	}
	s.gql.MustPost(`{ incidents(range: {from: "now-1h", to: "now+1m"}) { id status services }
		investigations(range: {from: "now-1h", to: "now+1m"}) { id status }
		proposals(range: {from: "now-1h", to: "now+1m"}) { id status history { kind } } }`, &out, as)
	state := map[string]string{}
	running := false
	put := func(kind, id string, v any) {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		state[kind+" "+id] = string(b)
	}
	for _, in := range out.Incidents {
		put("incident", in.ID, in)
	}
	for _, inv := range out.Investigations {
		put("investigation", inv.ID, inv)
		running = running || inv.Status == "running" || inv.Status == "queued"
	}
	for _, p := range out.Proposals {
		put("proposal", p.ID, p)
		// Between states: on its way to pending, or running its executor.
		running = running || p.Status == "proposed" || p.Status == "approved" || p.Status == "executing"
	}
	return state, running
}

// diffState names the records changed and added between two states.
func diffState(before, after map[string]string) (changed, added []string) {
	for k, v := range after {
		old, ok := before[k]
		switch {
		case !ok:
			added = append(added, k)
		case old != v:
			changed = append(changed, k)
		}
	}
	return changed, added
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
)

// shopTraces writes NDJSON spans of frontend → api → db every two seconds
// from `from` to `to`; db takes dbMs.
func shopTraces(from, to time.Time, dbMs func(time.Time) float64) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for at, i := from, 0; at.Before(to); at, i = at.Add(2*time.Second), i+1 {
		tid := fmt.Sprintf("%032x", i+1)
		db := dbMs(at)
		spans := []map[string]any{
			{"service": "frontend", "name": "GET /", "span_id": fmt.Sprintf("%016x", 3*i+1), "duration_ms": 6 + 12 + db},
			{"service": "api", "name": "GET /items", "span_id": fmt.Sprintf("%016x", 3*i+2), "parent_span_id": fmt.Sprintf("%016x", 3*i+1), "duration_ms": 12 + db},
			{"service": "db", "name": "SELECT items", "span_id": fmt.Sprintf("%016x", 3*i+3), "parent_span_id": fmt.Sprintf("%016x", 3*i+2), "duration_ms": db,
				"db.pool": "main"},
		}
		for _, s := range spans {
			s["timestamp"], s["trace_id"] = at.UTC().Format(time.RFC3339Nano), tid
			_ = enc.Encode(s)
		}
	}
	return b.Bytes()
}

// TestStartInvestigation: a user records a config change and starts an
// investigation of a window; its lines stream on investigationProgress to
// the end, and it names the database and the change, with the path.
func TestStartInvestigation(t *testing.T) {
	// A language model speaking OpenAI's wire format writes the narrative.
	var prompts []string
	var pmu sync.Mutex
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string
			Messages []struct{ Role, Content string }
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		pmu.Lock()
		prompts = append(prompts, req.Messages[len(req.Messages)-1].Content)
		pmu.Unlock()
		assert.Equal(t, "Bearer model-key", r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "1", "object": "chat.completion", "model": req.Model, "choices": []map[string]any{{
			"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant",
				"content": `{"summary": "db's pool was cut to one [E1.1]; every query waits for it.", "order": ["db"]}`}}}})
	}))
	defer model.Close()
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("model-key\n"), 0o600))
	s := start(t, func(c *config.Config) {
		c.AuthJWTSecret = jwtSecret
		c.LLMProvider, c.LLMModel, c.LLMBaseURL, c.LLMAPIKeyFile = "openai", "small-model", model.URL+"/v1", keyFile
	})
	responder := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "t1", time.Hour, "responder"))
	viewer := client.AddHeader("Authorization", "Bearer "+tokenWithRoles(t, "t1", time.Hour, "viewer"))
	now := time.Now()
	onset := now.Add(-3 * time.Minute)
	body := shopTraces(now.Add(-30*time.Minute), now, func(at time.Time) float64 {
		if at.After(onset) {
			return 240
		}
		return 4
	})
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", body, "Authorization", "Bearer "+tokenWithRoles(t, "t1", time.Hour, "responder"))
	require.Equal(t, http.StatusOK, code, msg)

	var change struct {
		RecordChange struct{ Service, Name string }
	}
	s.gql.MustPost(fmt.Sprintf(`mutation { recordChange(input: {service: "db", type: "config", description: "pool size 10 -> 1", at: %q}) { service name } }`,
		onset.Add(-20*time.Second).Format(time.RFC3339)), &change, responder)
	assert.Equal(t, "db", change.RecordChange.Service)
	err := s.gql.Post(`mutation { recordChange(input: {service: "db", type: "config"}) { name } }`, &change, viewer)
	require.Error(t, err, "a viewer records no changes")

	sent := bytes.Count(body, []byte("\n")) + 1 // the spans and the change
	eventually(t, "the spans and the change are stored", func() bool {
		var resp struct {
			Aggregate struct{ Groups []struct{ Values []*float64 } }
		}
		s.gql.MustPost(`query($r: TimeRangeInput!) { aggregate(input: {range: $r}) { groups { values } } }`, &resp, viewer, client.Var("r", lastHour))
		g := resp.Aggregate.Groups
		return len(g) == 1 && g[0].Values[0] != nil && int(*g[0].Values[0]) == sent
	})
	window := map[string]any{"from": onset.Format(time.RFC3339), "to": now.Add(time.Second).Format(time.RFC3339)}

	for _, bad := range []struct{ input, want string }{
		{`{}`, "say what to investigate"},
		{`{incidentId: "nope"}`, "not found"},
		{`{anomalyId: "nope"}`, "NOT_FOUND"},
		{fmt.Sprintf(`{range: {from: %q, to: "now"}, baseline: {from: "now-1m", to: "now"}}`, onset.Format(time.RFC3339)), "baseline must end before"},
	} {
		err := s.gql.Post(`mutation { startInvestigation(input: `+bad.input+`) { id } }`, &change, responder)
		require.Error(t, err, bad.input)
		assert.Contains(t, err.Error(), bad.want)
	}
	err = s.gql.Post(`mutation($r: TimeRangeInput!) { startInvestigation(input: {range: $r}) { id } }`, &change, viewer, client.Var("r", window))
	require.Error(t, err, "a viewer starts no investigation")

	var started struct {
		StartInvestigation struct{ ID, Status, Trigger string }
	}
	s.gql.MustPost(`mutation($r: TimeRangeInput!) { startInvestigation(input: {range: $r}) { id status trigger } }`, &started, responder, client.Var("r", window))
	id := started.StartInvestigation.ID
	require.NotEmpty(t, id)
	sub := s.gql.WebsocketWithPayload(fmt.Sprintf(`subscription { investigationProgress(id: %q) { seq kind step text } }`, id),
		map[string]any{"Authorization": "Bearer " + tokenWithRoles(t, "t1", time.Hour, "viewer")})
	defer sub.Close()
	var steps []string
	for seq := 1; ; seq++ {
		var line struct {
			InvestigationProgress struct {
				Seq              int
				Kind, Step, Text string
			}
		}
		require.NoError(t, next(t, sub, &line))
		l := line.InvestigationProgress
		require.Equal(t, seq, l.Seq)
		if l.Kind == "step_started" {
			steps = append(steps, l.Step)
		}
		if l.Kind == "done" {
			break
		}
	}
	assert.Equal(t, []string{"dependency tracer", "resources", "changes", "root cause", "bubbleup", "narrative", "similar incidents"}, steps)

	var got struct {
		Investigation struct {
			Status, Summary string
			Narrative       *string
			NarrativeModel  *string
			Missing         []string
			Hypotheses      []struct {
				Service, Cause string
				Confidence     float64
				Path           []string
				Evidence       []struct{ Kind, Text string }
			}
		}
	}
	s.gql.MustPost(fmt.Sprintf(`{ investigation(id: %q) { status summary narrative narrativeModel missing hypotheses { service cause confidence path evidence { kind text } } } }`, id), &got, viewer)
	inv := got.Investigation
	assert.Equal(t, "done", inv.Status)
	require.NotEmpty(t, inv.Hypotheses, inv.Summary)
	top := inv.Hypotheses[0]
	assert.Equal(t, "db", top.Service, inv.Summary)
	assert.Equal(t, "config_change", top.Cause)
	assert.Equal(t, []string{"frontend", "api", "db"}, top.Path)
	var texts []string
	for _, e := range top.Evidence {
		texts = append(texts, e.Kind+": "+e.Text)
	}
	assert.Contains(t, strings.Join(texts, "\n"), "pool size 10 -> 1")
	for _, h := range inv.Hypotheses[1:] {
		assert.Less(t, h.Confidence, top.Confidence, "api and frontend were only slowed by db: %+v", h)
	}
	assert.Contains(t, strings.Join(inv.Missing, "; "), "no resource metrics", "what was missing is said")
	require.NotNil(t, inv.Narrative, "the model's narrative is kept")
	assert.Contains(t, *inv.Narrative, "[E1.1]")
	assert.Equal(t, "openai/small-model", *inv.NarrativeModel)
	pmu.Lock()
	require.Len(t, prompts, 1)
	assert.Contains(t, prompts[0], "pool size 10 -> 1", "the model is given the evidence")
	pmu.Unlock()

	var list struct{ Investigations []struct{ ID string } }
	s.gql.MustPost(`query($r: TimeRangeInput!) { investigations(range: $r) { id } }`, &list, viewer, client.Var("r", lastHour))
	require.Len(t, list.Investigations, 1)
	assert.Equal(t, id, list.Investigations[0].ID)

	// On an anomaly: its service and what that calls, from a minute
	// before it began.
	require.NoError(t, s.Store().PutAnomalies(context.Background(), []domain.Anomaly{{Tenant: "t1", ID: "an-db", Series: "red:api:p99_ms",
		Service: "api", Signal: "p99_ms", StartNano: onset.UnixNano(), Severity: "high", Explanation: "api p99"}}))
	var onAnomaly struct {
		StartInvestigation struct {
			Service, From string
		}
	}
	s.gql.MustPost(`mutation { startInvestigation(input: {anomalyId: "an-db"}) { service from } }`, &onAnomaly, responder)
	assert.Equal(t, "api", onAnomaly.StartInvestigation.Service)
	from, err := time.Parse(time.RFC3339Nano, onAnomaly.StartInvestigation.From)
	require.NoError(t, err)
	assert.WithinDuration(t, onset.Add(-time.Minute), from, time.Second)
}

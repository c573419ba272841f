package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/graph"
	"github.com/inquest/inquest/internal/leaktest"
	"github.com/inquest/inquest/server"
)

// TestMain lets this test binary stand in for the inquest command: the
// README's `go run ./cmd/inquest ...` lines run through it, without a
// second build of the whole program.
func TestMain(m *testing.M) {
	if os.Getenv("README_TEST_RUN_INQUEST") == "1" {
		cmd := rootCmd()
		cmd.SetArgs(os.Args[1:])
		if err := cmd.Execute(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	leaktest.Main(m) // and fail on a goroutine a test left running
}

// readmeBlock is one fenced block of the README, with the marker comment
// that stood on the line before it, if any.
type readmeBlock struct {
	lang, marker, text string
	line               int
}

var markerRE = regexp.MustCompile(`^<!--\s*readme:\s*(.*?)\s*-->$`)

func readmeBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []readmeBlock
	var cur *readmeBlock
	marker := ""
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case cur != nil && strings.HasPrefix(line, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case strings.HasPrefix(line, "```"):
			cur = &readmeBlock{lang: strings.TrimPrefix(line, "```"), marker: marker, line: i + 1}
			marker = ""
		case markerRE.MatchString(line):
			marker = markerRE.FindStringSubmatch(line)[1]
		case strings.TrimSpace(line) != "":
			marker = ""
		}
	}
	require.Nil(t, cur, "an unclosed code block in %s", path)
	return out
}

// TestREADMEExamples runs every shell and GraphQL example of the README, in
// order, against servers this test starts: one in development mode with
// the demo shop running (and an incident, so that the incident examples
// have one to act on), and one with authentication for the blocks marked
// `<!-- readme: auth -->`. Each must succeed and print something; a
// GraphQL answer must hold no errors and no empty field. A block is left
// out only by `<!-- readme: skip REASON -->` (it starts a server, or needs
// Docker); `<!-- readme: fails REASON -->` must exit non-zero. In GraphQL
// examples "…" stands for the first id of an earlier answer.
func TestREADMEExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed (apt-get install curl)")
		}
		t.Skip("curl is not installed")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	blocks := readmeBlocks(t, filepath.Join(root, "README.md"))

	dev := startServer(t, func(c *config.Config) {
		c.Demo, c.DemoRate, c.DemoFaultAfter = true, 50, time.Hour
		c.QueryCache = false // the examples ask for data that just arrived
	})
	seedIncident(t, dev)
	const secret = "readme-examples-secret-of-32-bytes!!"
	authed := startServer(t, func(c *config.Config) { c.AuthJWTSecret = secret })
	waitForDemo(t, dev)

	shim := t.TempDir()
	self, err := os.Executable()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(shim, "inquest"),
		[]byte("#!/bin/sh\nREADME_TEST_RUN_INQUEST=1 exec "+self+` "$@"`+"\n"), 0o755))
	env := append(os.Environ(), "PATH="+shim+":"+os.Getenv("PATH"), "INQUEST_DATA_DIR="+t.TempDir(),
		"INQUEST_AUTH_JWT_SECRET=")
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	r := &readmeRun{t: t, root: root, env: env}

	var ran, skipped int
	for _, b := range blocks {
		name := fmt.Sprintf("README.md:%d", b.line)
		verb, reason, _ := strings.Cut(b.marker, " ")
		if verb == "skip" {
			require.NotEmpty(t, reason, "%s: a skipped example says why", name)
			skipped++
			continue
		}
		switch b.lang {
		case "sh", "bash", "shell":
			srv, extra := dev, []string(nil)
			if verb == "auth" {
				srv, extra = authed, []string{"INQUEST_AUTH_JWT_SECRET=" + secret}
			}
			r.shell(name, b.text, srv, extra, verb == "fails")
		case "graphql":
			for _, op := range graphqlOperations(b.text) {
				r.graphql(name, op, dev, schema)
			}
		default:
			continue // configuration files (YAML) are not commands
		}
		ran++
	}
	t.Logf("%d README examples run, %d skipped with a reason", ran, skipped)
	assert.GreaterOrEqual(t, ran, 10, "the README's examples were found")
}

type readmeRun struct {
	t      *testing.T
	root   string
	env    []string
	lastID string
}

// addrs maps the README's default addresses to a test server's.
func addrs(s *server.Server) *strings.Replacer {
	a := s.Addrs()
	return strings.NewReplacer("127.0.0.1:8080", a.HTTP, "127.0.0.1:4317", a.GRPC, "127.0.0.1:4318", a.OTLPHTTP,
		"go run ./cmd/inquest", "inquest")
}

func (r *readmeRun) shell(name, text string, s *server.Server, extraEnv []string, wantFail bool) {
	t := r.t
	script := "set -euo pipefail\n" +
		`curl() { command curl --fail-with-body --silent --show-error --max-time 120 "$@"; }` + "\n" +
		addrs(s).Replace(text)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = r.root
	cmd.Env = append(append([]string(nil), r.env...), extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if wantFail {
		assert.Error(t, err, "%s should fail:\n%s\n%s", name, text, out.String())
	} else {
		assert.NoError(t, err, "%s:\n%s\n%s", name, text, out.String())
		assert.NotContains(t, out.String(), `"errors":[`, "%s:\n%s", name, text)
	}
	assert.NotEmpty(t, strings.TrimSpace(out.String()), "%s prints nothing:\n%s", name, text)
	t.Logf("%s: %s", name, firstLine(out.String()))
}

func (r *readmeRun) graphql(name, op string, s *server.Server, schema *ast.Schema) {
	t := r.t
	if r.lastID != "" {
		op = strings.NewReplacer(`"…"`, `"`+r.lastID+`"`, `"..."`, `"`+r.lastID+`"`).Replace(op)
	}
	if strings.HasPrefix(op, "subscription") {
		// A subscription waits for events: it is checked against the
		// schema (its live behaviour has tests of its own).
		_, errs := gqlparser.LoadQuery(schema, op)
		assert.Empty(t, errs, "%s: %s", name, op)
		return
	}
	body, _ := json.Marshal(map[string]string{"query": op})
	resp, err := http.Post("http://"+s.Addrs().HTTP+"/graphql", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var answer struct {
		Data   map[string]json.RawMessage
		Errors []struct{ Message string }
	}
	require.NoError(t, json.Unmarshal(raw, &answer), "%s: %s", name, raw)
	if !assert.Empty(t, answer.Errors, "%s: %s", name, op) {
		return
	}
	require.NotEmpty(t, answer.Data, "%s: %s", name, op)
	for field, v := range answer.Data {
		s := string(v)
		assert.False(t, s == "null" || s == "[]" || s == "{}", "%s: %s answered %s:\n%s", name, field, s, op)
	}
	if id := firstID(raw); id != "" {
		r.lastID = id
	}
	t.Logf("%s: %s", name, firstLine(string(raw)))
}

// graphqlOperations splits a block into its operations: each starts at a
// line of depth zero and ends where its braces close.
func graphqlOperations(text string) []string {
	var ops []string
	var cur strings.Builder
	depth := 0
	inString := false
	for _, line := range strings.Split(text, "\n") {
		if depth == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		cur.WriteString(line + "\n")
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case c == '\\' && inString:
				i++
			case c == '"':
				inString = !inString
			case c == '#' && !inString:
				i = len(line) // a comment to the end of the line
			case c == '{' && !inString:
				depth++
			case c == '}' && !inString:
				depth--
			}
		}
		if depth == 0 {
			ops = append(ops, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		ops = append(ops, s)
	}
	return ops
}

// firstID is the value of the first "id" key in a JSON document, in the
// order the document holds them.
func firstID(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct{ object, key bool } // key: the next token is a key
	var stack []frame
	idNext := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top >= 0 && stack[top].object {
					stack[top].key = true // the container is a value
				}
				stack = append(stack, frame{object: d == '{', key: d == '{'})
			default:
				stack = stack[:top]
			}
			idNext = false
			continue
		}
		if top >= 0 && stack[top].object && stack[top].key {
			stack[top].key = false
			idNext = tok == "id"
			continue
		}
		if s, ok := tok.(string); ok && idNext {
			return s
		}
		if top >= 0 && stack[top].object {
			stack[top].key = true
		}
		idNext = false
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > 200 {
		s = s[:200] + " …"
	}
	return s
}

// seedIncident stores an open incident of a service of the README's own,
// as the detector would, and a proposal for it, for the incident and
// remediation examples to read and change.
func seedIncident(t *testing.T, s *server.Server) {
	t.Helper()
	now := time.Now().UnixNano()
	a := domain.Anomaly{Tenant: "default", ID: "readme-anomaly", Series: "red:readme-search::p99_ms", Service: "readme-search",
		Signal: "p99_ms", StartNano: now, Severity: "high", Explanation: "readme-search: p99 latency 900 ms (expected 40 ms)",
		IncidentID: "readme-incident"}
	require.NoError(t, s.Store().PutAnomalies(context.Background(), []domain.Anomaly{a}))
	require.NoError(t, s.Store().PutIncident(context.Background(), domain.Incident{Tenant: "default", ID: "readme-incident",
		Title: a.Explanation, Severity: "high", Status: domain.IncidentOpen, Services: []string{"readme-search"},
		AnomalyIDs: []string{a.ID}, OpenedNano: now, UpdatedNano: now,
		Timeline: []domain.IncidentEvent{{TimeUnixNano: now, Kind: "opened", Text: "opened"}}}))
	_, err := s.Store().CreateProposal(context.Background(), domain.Proposal{Tenant: "default", ID: "readme-proposal",
		IncidentID: "readme-incident", Action: "restart", Target: "readme-search", Risk: domain.RiskMedium,
		Status: domain.ProposalPending, ProposedBy: "inquest", ProposedNano: now, ExpiresNano: now + int64(30*time.Minute),
		Rationale: "readme-search's own time rose", Expected: "readme-search's p99 back inside its band", Rollback: "nothing to undo",
		Params: map[string]string{"replicas": "3"}})
	require.NoError(t, err)
}

// waitForDemo polls until the demo shop's spans and metrics are queryable.
func waitForDemo(t *testing.T, s *server.Server) {
	t.Helper()
	ask := func(q string) string {
		body, _ := json.Marshal(map[string]string{"query": q})
		resp, err := http.Post("http://"+s.Addrs().HTTP+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	require.Eventually(t, func() bool {
		return strings.Contains(ask(`{ services(range: {from: "now-15m", to: "now"}) { name } }`), "payment") &&
			strings.Contains(ask(`{ metricNames(range: {from: "now-15m", to: "now"}) }`), "_")
	}, 60*time.Second, 100*time.Millisecond, "the demo's data arrives")
}

func TestREADMEHelpers(t *testing.T) {
	assert.Equal(t, "k1", firstID([]byte(`{"data":{"a":"id","x":[{"name":"id","id":"k1"},{"id":"k2"}]}}`)))
	assert.Equal(t, "", firstID([]byte(`{"data":{"a":"id"}}`)))
	assert.Equal(t, []string{"{ a { b } }", "mutation { c(x: \"}\") { d } }   # e { f", "query {\n  g\n}"},
		graphqlOperations("{ a { b } }\nmutation { c(x: \"}\") { d } }   # e { f\n\nquery {\n  g\n}\n"))
}

// Package tools is the one registry of typed tools that the MCP server,
// the ask box and the LLM agent call: each tool has an input and an
// output Go type (their JSON schemas are generated from them), a
// description written for a model, a read-only or write annotation, a
// budget for its output, and a handler that calls the service layer with
// the caller's principal — never a store. Outputs are aggregate-first and
// bounded; each says when it was cut and how to narrow the question.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/inquest/inquest/service"
)

// Env is who calls and through which face.
type Env struct {
	Svc *service.Service
	P   service.Principal
	// Channel is the face (mcp, ask), recorded with write calls.
	Channel string
	// BaseURL is where the dashboard is ("http://inquest:8080"), for the
	// links outputs carry; relative links without it.
	BaseURL string
}

// Tool is one capability offered to models and to the ask box.
type Tool struct {
	Name string
	// Description tells a model when to use it, what it returns and what
	// to call next.
	Description string
	// Op is the operation of the service's role table the tool needs;
	// a caller whose role does not allow it is not offered the tool.
	Op string
	// Effect is what a call does beyond answering. MCP clients auto-approve
	// the tools they are told only read, so it must say the truth; a test
	// holds every tool to it by what a call changes.
	Effect Effect
	// OpenWorld marks a tool whose call may reach systems outside Inquest
	// (an approved remediation runs its executor: a webhook, Argo CD,
	// Kubernetes).
	OpenWorld bool
	// Budget bounds the output, in tokens (about four bytes of JSON).
	Budget       int
	InputSchema  json.RawMessage
	OutputSchema json.RawMessage
	handle       func(ctx context.Context, env Env, args json.RawMessage) (any, error)
}

// Effect is what a tool's call changes.
type Effect int

const (
	// Reads changes nothing.
	Reads Effect = iota
	// Creates adds a record per call (an investigation): nothing existing
	// changes, and a second call makes a second record.
	Creates
	// Decides changes an existing record for good (approves or rejects a
	// proposal): a repeat with the same arguments is refused and changes
	// nothing more.
	Decides
)

// Result is a tool's answer.
type Result struct {
	Tool string
	// Data is the output value; JSON its encoding within the budget.
	Data      any
	JSON      json.RawMessage
	Truncated bool
}

// trimmer is an output that can shed rows to fit a budget: Trim drops
// about half of what it lists and says so; false when nothing is left to
// drop.
type trimmer interface{ Trim() bool }

// define makes a tool from a typed handler: arguments are checked against
// the input's schema (unknown fields, wrong types and missing required
// ones are named) before the handler runs.
func define[In, Out any](t Tool, h func(ctx context.Context, env Env, in In) (Out, error)) Tool {
	in, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Sprintf("tool %s: input schema: %v", t.Name, err))
	}
	resolved, err := in.Resolve(nil)
	if err != nil {
		panic(fmt.Sprintf("tool %s: input schema: %v", t.Name, err))
	}
	ot := reflect.TypeFor[Out]()
	if ot.Kind() == reflect.Pointer {
		ot = ot.Elem() // the output is an object, not "object or null"
	}
	out, err := jsonschema.ForType(ot, &jsonschema.ForOptions{IgnoreInvalidTypes: true})
	if err != nil {
		panic(fmt.Sprintf("tool %s: output schema: %v", t.Name, err))
	}
	t.InputSchema, t.OutputSchema = portable(in), portable(out)
	var args []string
	for _, name := range in.PropertyOrder {
		if slices.Contains(in.Required, name) {
			name += " (required)"
		}
		args = append(args, name)
	}
	t.handle = func(ctx context.Context, env Env, raw json.RawMessage) (any, error) {
		if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
			raw = json.RawMessage("{}")
		}
		var generic any
		if err := json.Unmarshal(raw, &generic); err != nil {
			return nil, service.Invalid("%s: the arguments are not JSON: %v", t.Name, err)
		}
		if _, ok := generic.(map[string]any); !ok {
			return nil, service.Invalid("%s: the arguments must be a JSON object", t.Name)
		}
		if err := resolved.Validate(generic); err != nil {
			return nil, service.Invalid("%s: %v (its arguments: %s)", t.Name, tidy(err), strings.Join(args, ", "))
		}
		var v In
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return nil, service.Invalid("%s: %v", t.Name, err)
		}
		return h(ctx, env, v)
	}
	return t
}

// tidy shortens a schema validation error to what a model can act on.
func tidy(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "validating root: "); i >= 0 {
		s = s[i+len("validating root: "):]
	}
	return s
}

// Registry holds the tools.
type Registry struct {
	tools  []Tool
	byName map[string]int
}

// New is the registry of every tool Inquest offers.
func New() *Registry {
	r := &Registry{byName: map[string]int{}}
	for _, t := range []Tool{
		listServices(), serviceMapTool(), aggregate(), searchEvents(), getTrace(), queryMetrics(), topErrors(), bubbleUp(),
		listIncidents(), getIncident(), startInvestigation(), getInvestigation(), similarIncidents(), listChanges(),
		listProposals(), approveProposal(), rejectProposal(),
	} {
		if _, dup := r.byName[t.Name]; dup {
			panic("tools: " + t.Name + " defined twice")
		}
		if _, ok := service.RoleOf(t.Op); !ok {
			panic("tools: " + t.Name + " needs operation " + t.Op + ", which the role table does not know")
		}
		r.byName[t.Name] = len(r.tools)
		r.tools = append(r.tools, t)
	}
	return r
}

// All lists every tool, in the registry's order.
func (r *Registry) All() []Tool { return r.tools }

// Allowed tells whether the principal's role allows the tool.
func Allowed(t Tool, p service.Principal) bool {
	if p.Anonymous {
		return true
	}
	role, ok := service.RoleOf(t.Op)
	return ok && p.Has(role)
}

// For lists the tools the principal may call: write tools only for roles
// that may make the change.
func (r *Registry) For(p service.Principal) []Tool {
	var out []Tool
	for _, t := range r.tools {
		if Allowed(t, p) {
			out = append(out, t)
		}
	}
	return out
}

// Get finds a tool by name.
func (r *Registry) Get(name string) (Tool, bool) {
	i, ok := r.byName[name]
	if !ok {
		return Tool{}, false
	}
	return r.tools[i], true
}

// Call runs a tool for env's principal. Errors are the service's typed
// errors (invalid input, not found, forbidden, ...), whose messages are
// meant for the caller; anything else is internal.
func (r *Registry) Call(ctx context.Context, env Env, name string, args json.RawMessage) (*Result, error) {
	t, ok := r.Get(name)
	if !ok {
		return nil, service.NotFound("no tool %q; the tools are %s", name, strings.Join(r.names(env.P), ", "))
	}
	if !Allowed(t, env.P) {
		return nil, service.Forbidden("%s needs a role that may %s", name, t.Op)
	}
	out, err := t.handle(ctx, env, args)
	if err != nil {
		return nil, err
	}
	res := &Result{Tool: name, Data: out}
	if res.JSON, err = json.Marshal(out); err != nil {
		return nil, err
	}
	budget := 4 * t.Budget
	for len(res.JSON) > budget {
		tr, ok := out.(trimmer)
		if !ok || !tr.Trim() {
			break
		}
		res.Truncated = true
		if res.JSON, err = json.Marshal(out); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (r *Registry) names(p service.Principal) []string {
	var out []string
	for _, t := range r.For(p) {
		out = append(out, t.Name)
	}
	return out
}

// cut keeps the first half of a list (at least one fewer), for Trim.
func cut[T any](s *[]T) bool {
	if len(*s) <= 1 {
		return false
	}
	*s = (*s)[:len(*s)/2]
	return true
}

// portable writes a schema the way every model provider reads it: a
// property Go makes nullable (a slice, a map, a pointer) is simply
// optional — absent, never null, in what Inquest sends — and a nullable
// value elsewhere is written as anyOf, one type each.
func portable(s *jsonschema.Schema) json.RawMessage {
	b, _ := json.Marshal(s)
	var v any
	_ = json.Unmarshal(b, &v)
	var walk func(node any, property bool)
	walk = func(node any, property bool) {
		m, ok := node.(map[string]any)
		if !ok {
			return
		}
		if types, ok := m["type"].([]any); ok && len(types) == 2 && types[0] == "null" {
			if property {
				m["type"] = types[1]
			} else {
				delete(m, "type")
				m["anyOf"] = []any{map[string]any{"type": "null"}, map[string]any{"type": types[1]}}
			}
		}
		if props, ok := m["properties"].(map[string]any); ok {
			for _, p := range props {
				walk(p, true)
			}
		}
		for _, k := range []string{"items", "additionalProperties"} {
			walk(m[k], k == "items")
		}
	}
	walk(v, false)
	out, _ := json.Marshal(v)
	return out
}

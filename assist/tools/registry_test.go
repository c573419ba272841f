package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/service"
)

type echoIn struct {
	Window
	N    int    `json:"n" jsonschema:"how many rows"`
	Word string `json:"word,omitempty"`
}

type echoOut struct {
	Rows []string `json:"rows"`
	Bounds
}

func (o *echoOut) Trim() bool {
	return o.halve("cut to fit", cut(&o.Rows))
}

func echo() Tool {
	return define(Tool{Name: "echo", Op: "services", Budget: 50}, func(_ context.Context, _ Env, in echoIn) (*echoOut, error) {
		out := &echoOut{Rows: []string{}}
		for range in.N {
			out.Rows = append(out.Rows, strings.Repeat("x", 10)+in.Word)
		}
		return out, nil
	})
}

// TestBudgetAndArguments: an output over its budget is cut and says so;
// arguments are checked against the input's schema, naming what is
// wrong and what the tool takes.
func TestBudgetAndArguments(t *testing.T) {
	r := &Registry{byName: map[string]int{"echo": 0}, tools: []Tool{echo()}}
	env := Env{P: service.Principal{Anonymous: true}}
	res, err := r.Call(context.Background(), env, "echo", json.RawMessage(`{"n": 3}`))
	require.NoError(t, err)
	assert.False(t, res.Truncated)
	assert.JSONEq(t, `{"rows": ["xxxxxxxxxx", "xxxxxxxxxx", "xxxxxxxxxx"]}`, string(res.JSON))

	res, err = r.Call(context.Background(), env, "echo", json.RawMessage(`{"n": 100}`))
	require.NoError(t, err)
	assert.True(t, res.Truncated)
	assert.LessOrEqual(t, len(res.JSON), 4*50)
	assert.Contains(t, string(res.JSON), `"truncated":true`)
	assert.Contains(t, string(res.JSON), `"note":"cut to fit"`)

	for args, want := range map[string]string{
		`{"n": "three"}`:        "n",
		`{"n": 1, "colour": 2}`: "colour",
		`{}`:                    "n (required)",
		`[1, 2]`:                "must be a JSON object",
		`{"n": 1`:               "not JSON",
	} {
		_, err := r.Call(context.Background(), env, "echo", json.RawMessage(args))
		require.Error(t, err, args)
		assert.ErrorIs(t, err, service.ErrInvalid, args)
		assert.Contains(t, err.Error(), want, args)
	}
	_, err = r.Call(context.Background(), env, "nope", nil)
	assert.ErrorIs(t, err, service.ErrNotFound)
}

// TestRegistry: every tool has a description, schemas, a budget and an
// operation the role table knows; write tools are offered only to roles
// that may decide.
func TestRegistry(t *testing.T) {
	r := New()
	require.Len(t, r.All(), 17)
	for _, tool := range r.All() {
		assert.NotEmpty(t, tool.Description, tool.Name)
		assert.Positive(t, tool.Budget, tool.Name)
		var in map[string]any
		require.NoError(t, json.Unmarshal(tool.InputSchema, &in), tool.Name)
		assert.Equal(t, "object", in["type"], tool.Name)
		assert.NotContains(t, string(tool.InputSchema), `"type":["null"`, "%s: portable schemas have one type each", tool.Name)
	}
	viewer := service.Principal{}
	viewer.Roles = []string{"viewer"}
	var names []string
	for _, tool := range r.For(viewer) {
		names = append(names, tool.Name)
		assert.Equal(t, Reads, tool.Effect, "a viewer is offered only tools that read: %s", tool.Name)
	}
	assert.NotContains(t, names, "approve_proposal")
	responder := service.Principal{}
	responder.Roles = []string{"responder"}
	names = nil
	for _, tool := range r.For(responder) {
		names = append(names, tool.Name)
	}
	assert.Contains(t, names, "approve_proposal")
	assert.Contains(t, names, "start_investigation")
}

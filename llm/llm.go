// Package llm is the small interface Inquest's agents talk to a language
// model through — one system prompt, one user message, text back — with
// langchaingo behind it, so that any OpenAI-compatible endpoint (OpenAI,
// vLLM, llama.cpp's server, LiteLLM), Anthropic or Ollama can be used. The
// model never acts: it reads evidence the agents gathered and writes.
package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

// Model answers a prompt.
type Model interface {
	// Complete sends the system prompt and the user's message and returns
	// the model's text.
	Complete(ctx context.Context, system, user string) (string, error)
	// Name says which model answered (for the record kept with what it
	// wrote).
	Name() string
}

// Config chooses a model. The key comes from the environment or a file,
// never from a flag that shows in a process list.
type Config struct {
	Provider string // openai (any OpenAI-compatible endpoint), anthropic, ollama
	Model    string
	BaseURL  string
	APIKey   string
	// MaxTokens bounds the answer (1024 when 0).
	MaxTokens int
}

// New builds the model of cfg; a config without a provider has none (nil,
// nil): investigations then write their narrative themselves.
func New(cfg Config) (Model, error) {
	if cfg.Provider == "" {
		return nil, nil
	}
	if cfg.Model == "" {
		return nil, errors.New("llm: a model name is required (llm-model)")
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 1024
	}
	var (
		m   llms.Model
		err error
	)
	switch strings.ToLower(cfg.Provider) {
	case "openai":
		opts := []openai.Option{openai.WithModel(cfg.Model), openai.WithToken(orNone(cfg.APIKey))}
		if cfg.BaseURL != "" {
			opts = append(opts, openai.WithBaseURL(cfg.BaseURL))
		}
		m, err = openai.New(opts...)
	case "anthropic":
		opts := []anthropic.Option{anthropic.WithModel(cfg.Model), anthropic.WithToken(cfg.APIKey)}
		if cfg.BaseURL != "" {
			opts = append(opts, anthropic.WithBaseURL(cfg.BaseURL))
		}
		m, err = anthropic.New(opts...)
	case "ollama":
		opts := []ollama.Option{ollama.WithModel(cfg.Model)}
		if cfg.BaseURL != "" {
			opts = append(opts, ollama.WithServerURL(cfg.BaseURL))
		}
		m, err = ollama.New(opts...)
	default:
		return nil, fmt.Errorf("llm: unknown provider %q (openai, anthropic or ollama)", cfg.Provider)
	}
	if err != nil {
		return nil, fmt.Errorf("llm: %s: %w", cfg.Provider, err)
	}
	return &chain{m: m, name: cfg.Provider + "/" + cfg.Model, maxTokens: cfg.MaxTokens}, nil
}

// orNone gives local OpenAI-compatible servers, which take no key, one
// the client accepts.
func orNone(key string) string {
	if key == "" {
		return "none"
	}
	return key
}

type chain struct {
	m         llms.Model
	name      string
	maxTokens int
}

func (c *chain) Name() string { return c.name }

func (c *chain) Complete(ctx context.Context, system, user string) (string, error) {
	resp, err := c.m.GenerateContent(ctx, []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, system),
		llms.TextParts(llms.ChatMessageTypeHuman, user),
	}, llms.WithTemperature(0), llms.WithMaxTokens(c.maxTokens))
	if err != nil {
		return "", fmt.Errorf("llm %s: %w", c.name, err)
	}
	// Anthropic answers one choice per content block: read them all.
	var b strings.Builder
	for _, ch := range resp.Choices {
		b.WriteString(ch.Content)
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("llm %s: an empty answer", c.name)
	}
	return b.String(), nil
}

// Tokens estimates the tokens of a text (about four characters each), for
// budgets.
func Tokens(s string) int { return (len(s) + 3) / 4 }

// ToolSpec is a tool offered to a model: its name, what it is for, and
// its arguments' JSON schema.
type ToolSpec struct {
	Name        string
	Description string
	Parameters  json.RawMessage
}

// ToolCall is a model's request to call a tool with JSON arguments.
type ToolCall struct {
	ID, Name, Arguments string
}

// Turn is one message of a tool conversation: the user's question, the
// model's reply (text and calls), or a tool's result for a call.
type Turn struct {
	Role   string // user, assistant, tool
	Text   string
	Calls  []ToolCall // assistant
	CallID string     // tool: the call answered
	Name   string     // tool: its name
}

// Reply is a model's turn: text, or tool calls to make.
type Reply struct {
	Text  string
	Calls []ToolCall
}

// ToolModel is a model that calls tools.
type ToolModel interface {
	Model
	Chat(ctx context.Context, system string, turns []Turn, tools []ToolSpec) (*Reply, error)
}

var _ ToolModel = (*chain)(nil)

// Chat sends the conversation with the tools offered; one call or one
// result per message, as every provider takes them.
func (c *chain) Chat(ctx context.Context, system string, turns []Turn, tools []ToolSpec) (*Reply, error) {
	msgs := []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeSystem, system)}
	for _, t := range turns {
		switch t.Role {
		case "user":
			msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeHuman, t.Text))
		case "assistant":
			if t.Text != "" {
				msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeAI, t.Text))
			}
			for _, call := range t.Calls {
				msgs = append(msgs, llms.MessageContent{Role: llms.ChatMessageTypeAI, Parts: []llms.ContentPart{llms.ToolCall{
					ID: call.ID, Type: "function", FunctionCall: &llms.FunctionCall{Name: call.Name, Arguments: call.Arguments}}}})
			}
		case "tool":
			msgs = append(msgs, llms.MessageContent{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{llms.ToolCallResponse{
				ToolCallID: t.CallID, Name: t.Name, Content: t.Text}}})
		}
	}
	defs := make([]llms.Tool, 0, len(tools))
	for _, t := range tools {
		var params any
		if err := json.Unmarshal(t.Parameters, &params); err != nil {
			return nil, fmt.Errorf("llm: tool %s: %w", t.Name, err)
		}
		defs = append(defs, llms.Tool{Type: "function", Function: &llms.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	resp, err := c.m.GenerateContent(ctx, msgs, llms.WithTools(defs), llms.WithTemperature(0), llms.WithMaxTokens(c.maxTokens))
	if err != nil {
		return nil, fmt.Errorf("llm %s: %w", c.name, err)
	}
	out := &Reply{}
	var b strings.Builder
	// Anthropic answers one choice per content block: read them all.
	for _, ch := range resp.Choices {
		b.WriteString(ch.Content)
		for _, tc := range ch.ToolCalls {
			if tc.FunctionCall != nil {
				out.Calls = append(out.Calls, ToolCall{ID: tc.ID, Name: tc.FunctionCall.Name, Arguments: tc.FunctionCall.Arguments})
			}
		}
	}
	out.Text = b.String()
	if out.Text == "" && len(out.Calls) == 0 {
		return nil, fmt.Errorf("llm %s: an empty answer", c.name)
	}
	return out, nil
}

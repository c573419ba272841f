package ask

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/inquest/inquest/assist/tools"
	"github.com/inquest/inquest/llm"
	"github.com/inquest/inquest/service"
)

const agentSystem = `You answer an engineer's question about their system's telemetry with the tools given. Inquest stores traces, logs and metrics, opens incidents from anomalies by itself and investigates them.
Rules: get every number from a tool call, never from memory; cite each fact with the number of the call it came from in brackets, [1] for the first call you made; answer in at most four sentences, plain text, no tables.
For "why is X slow/failing", look at list_incidents then get_investigation of the incident covering X (start_investigation only when none does). For latency, errors and traffic use aggregate (duration_ms for latency; group by status for errors). For "which customers / what do the bad requests share" use bubble_up.
Time arguments take now-1h, now-30m or RFC3339. If the tools cannot answer, say so.`

// agent answers with the model: it calls tools (those that read, and
// start_investigation: the ask box never decides anything) until it writes an answer, bounded in turns
// and in tokens.
func (r *run) agent(ctx context.Context, def Window) error {
	var specs []llm.ToolSpec
	for _, t := range r.a.reg.For(r.env.P) {
		if t.Effect != tools.Decides {
			specs = append(specs, llm.ToolSpec{Name: t.Name, Description: t.Description, Parameters: t.InputSchema})
		}
	}
	q := r.ans.Question
	if r.prev != nil {
		q += "\n(It follows the question: " + r.prev.question + ")"
	}
	if def.From != "" {
		q += fmt.Sprintf("\n(The dashboard shows from %s to %s; use it when the question names no time.)", def.From, def.To)
	}
	turns := []llm.Turn{{Role: "user", Text: q}}
	used := llm.Tokens(agentSystem) + llm.Tokens(q)
	for _, s := range specs {
		used += llm.Tokens(s.Description) + llm.Tokens(string(s.Parameters))
	}
	r.ans.Model = r.a.model.Name()
	r.ans.Understood = true
	var interp []string
	for step := 0; step < r.a.MaxSteps; step++ {
		reply, err := r.a.model.Chat(ctx, agentSystem, turns, specs)
		if err != nil {
			return err
		}
		used += llm.Tokens(reply.Text)
		if len(reply.Calls) == 0 {
			r.ans.Answer = strings.TrimSpace(reply.Text)
			r.ans.Interpretation = strings.Join(interp, "; ")
			return nil
		}
		turns = append(turns, llm.Turn{Role: "assistant", Text: reply.Text, Calls: reply.Calls})
		for _, c := range reply.Calls {
			var args map[string]any
			if err := json.Unmarshal([]byte(orEmpty(c.Arguments)), &args); err != nil {
				turns = append(turns, llm.Turn{Role: "tool", CallID: c.ID, Name: c.Name, Text: "error: the arguments are not a JSON object: " + err.Error()})
				continue
			}
			if t, ok := r.a.reg.Get(c.Name); !ok || t.Effect == tools.Decides {
				// Only the tools that decide nothing were offered; a model that names
				// another is told so, and nothing runs.
				turns = append(turns, llm.Turn{Role: "tool", CallID: c.ID, Name: c.Name, Text: "error: " + c.Name + " is not one of the tools offered"})
				continue
			}
			interp = append(interp, c.Name+" "+orEmpty(c.Arguments))
			res, err := r.call(ctx, c.Name, args)
			text := ""
			if err != nil {
				text = "error: " + r.ans.Calls[len(r.ans.Calls)-1].Error
			} else {
				text = fmt.Sprintf("[%d] %s", len(r.ans.Calls), res.JSON)
				r.keepData(res)
			}
			used += llm.Tokens(text)
			turns = append(turns, llm.Turn{Role: "tool", CallID: c.ID, Name: c.Name, Text: text})
		}
		if used > r.a.MaxTokens {
			return r.giveUp(fmt.Sprintf("the question needed more than %d tokens of tool results", r.a.MaxTokens))
		}
	}
	return r.giveUp(fmt.Sprintf("the model made %d rounds of tool calls without answering", r.a.MaxSteps))
}

// giveUp ends an agent's answer that ran out of budget with what the
// calls found.
func (r *run) giveUp(why string) error {
	r.ans.Answer = "No answer within the budget: " + why + ". The tool calls so far are below."
	return nil
}

// keepData shows a result's data as the answer's table and chart, with
// the renderer the parser's answers use.
func (r *run) keepData(res *tools.Result) {
	_ = r.render(Plan{Interpretation: res.Tool}, res, len(r.ans.Calls))
}

func orEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "{}"
	}
	return s
}

var _ service.Asker = (*Asker)(nil)

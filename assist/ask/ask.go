// Package ask is the ask box: a question in plain words becomes tool calls
// on the one registry (assist/tools) — read by a deterministic parser, or,
// when a language model is configured, by a tool-calling agent bounded in
// steps and tokens — and the answer is a few sentences citing the calls,
// with the data as a table and a chart. Every call runs with the asker's
// principal, so a question can never reach what its asker may not.
package ask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/inquest/inquest/assist/tools"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/llm"
	"github.com/inquest/inquest/service"
)

// Asker answers questions.
type Asker struct {
	reg     *tools.Registry
	svc     *service.Service
	model   llm.ToolModel
	baseURL string
	logger  *slog.Logger
	now     func() time.Time
	// MaxSteps and MaxTokens bound the agent (6 model turns, 24k tokens).
	MaxSteps, MaxTokens int
	// InvestigationWait is how long a question that starts an
	// investigation waits for its findings (20 s).
	InvestigationWait time.Duration
	convos            *conversations
}

// New makes the ask box; model may be nil (the parser answers).
func New(reg *tools.Registry, svc *service.Service, model llm.ToolModel, baseURL string, logger *slog.Logger) *Asker {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Asker{reg: reg, svc: svc, model: model, baseURL: baseURL, logger: logger, now: time.Now,
		MaxSteps: 6, MaxTokens: 24000, InvestigationWait: 20 * time.Second, convos: newConversations()}
}

// SetClock makes the parser read relative times against now (tests).
func (a *Asker) SetClock(now func() time.Time) { a.now = now }

// run is one answer being made.
type run struct {
	a    *Asker
	env  tools.Env
	step func(service.AskStep)
	ans  *service.AskAnswer
	res  []*tools.Result // by call, nil where the call failed
	// convo is the conversation's key; prev its turn before, if any.
	convo string
	prev  *turn
}

// Ask answers: with the model when there is one (the parser when the
// model fails), else with the parser.
func (a *Asker) Ask(ctx context.Context, p service.Principal, in service.AskInput, step func(service.AskStep)) (*service.AskAnswer, error) {
	if step == nil {
		step = func(service.AskStep) {}
	}
	conv := strings.TrimSpace(in.Conversation)
	if conv == "" {
		conv = domain.NewID()
	}
	r := &run{a: a, env: tools.Env{Svc: a.svc, P: p, Channel: "ask", BaseURL: a.baseURL}, step: step,
		ans:   &service.AskAnswer{Question: strings.TrimSpace(in.Question), Calls: []service.AskCall{}, Conversation: conv},
		convo: p.Tenant + "\x00" + p.Subject + "\x00" + conv}
	if t, ok := a.convos.get(r.convo, a.now()); ok {
		r.prev = &t
	}
	def := Window{}
	if in.Range != nil {
		def = Window{From: in.Range.From, To: in.Range.To, Said: "the range asked for"}
	}
	if a.model != nil {
		err := r.agent(ctx, def)
		if err == nil {
			a.convos.put(r.convo, turn{question: r.ans.Question, at: a.now()})
			return r.ans, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		a.logger.Warn("ask: the model failed; the parser answers", "err", err)
		r.ans = &service.AskAnswer{Question: r.ans.Question, Calls: []service.AskCall{}, Conversation: conv}
		r.res = nil
	}
	r.deterministic(ctx, def)
	return r.ans, nil
}

// call runs a tool and records it; the error is also in the record.
func (r *run) call(ctx context.Context, tool string, args map[string]any) (*tools.Result, error) {
	raw, _ := json.Marshal(args)
	c := service.AskCall{Tool: tool, Arguments: raw}
	sent := c // the step's copy: c changes below
	r.step(service.AskStep{Kind: "tool_call", Text: tool + " " + string(raw), Call: &sent})
	res, err := r.a.reg.Call(ctx, r.env, tool, raw)
	if err != nil {
		var se *service.Error
		if errors.As(err, &se) {
			c.Error = se.Kind.String() + ": " + se.Msg
		} else {
			r.a.logger.Error("ask: tool failed", "tool", tool, "err", err)
			c.Error = "internal error"
		}
	} else {
		c.Result, c.Truncated = res.JSON, res.Truncated
	}
	r.ans.Calls = append(r.ans.Calls, c)
	r.res = append(r.res, res)
	r.step(service.AskStep{Kind: "tool_result", Text: tool, Call: &c})
	return res, err
}

// services are the names the tenant's telemetry used in the last day,
// for reading names in questions.
func (r *run) services(ctx context.Context) []string {
	res, err := r.a.reg.Call(ctx, r.env, "list_services", json.RawMessage(`{"from": "now-24h", "limit": 500}`))
	if err != nil {
		return nil
	}
	var names []string
	for _, s := range res.Data.(*tools.ListServicesOut).Services {
		names = append(names, s.Name)
	}
	return names
}

func (r *run) deterministic(ctx context.Context, def Window) {
	services := r.services(ctx)
	q, follow := r.ans.Question, false
	if r.prev != nil {
		q, follow = followUp(q, *r.prev, services, r.a.now())
	}
	plan, ok := Parse(q, services, r.a.now(), def)
	if ok {
		r.a.convos.put(r.convo, turn{question: q, plan: plan, at: r.a.now()})
		if follow {
			plan.Interpretation += " (a follow-up, read as “" + q + "”)"
		}
	}
	if !ok {
		r.ans.Answer = "I did not understand the question. I answer questions about latency, errors, traffic, incidents, changes, " +
			"what failing requests have in common, and why a service is slow — for example the ones below."
		r.ans.Suggestions = suggest(r.ans.Question)
		return
	}
	r.ans.Understood, r.ans.Interpretation = true, plan.Interpretation
	r.step(service.AskStep{Kind: "interpretation", Text: plan.Interpretation})
	r.execute(ctx, plan)
}

// execute runs a plan's calls; some intents change a later call with
// what an earlier one found.
func (r *run) execute(ctx context.Context, plan Plan) {
	var sentences []string
	for i := 0; i < len(plan.Calls); i++ {
		c := plan.Calls[i]
		switch {
		case plan.Intent == "why" && c.Tool == "start_investigation", plan.Intent == "similar" && c.Tool == "similar_incidents":
			if s := r.followIncident(ctx, plan, c); s != "" {
				sentences = append(sentences, s)
			}
			continue
		case c.Tool == "bubble_up" && i > 0:
			substituteP95(c.Args, r.res[len(r.res)-1])
		}
		res, err := r.call(ctx, c.Tool, c.Args)
		if err != nil {
			sentences = append(sentences, fmt.Sprintf("%s failed: %s [%d].", c.Tool, r.ans.Calls[len(r.ans.Calls)-1].Error, len(r.ans.Calls)))
			break
		}
		if plan.Intent == "why" && c.Tool == "list_incidents" {
			continue // said with what follows
		}
		if plan.Intent == "bubbleup" && c.Tool == "aggregate" {
			continue
		}
		if plan.Compare != "" && i == 0 {
			continue
		}
		sentences = append(sentences, r.render(plan, res, len(r.ans.Calls)))
	}
	r.ans.Answer = strings.Join(sentences, " ")
}

// followIncident reads the investigation of the open incident that covers
// the plan's service (or the newest open one): the existing
// investigation when there is one, a new one otherwise, waited for.
func (r *run) followIncident(ctx context.Context, plan Plan, c Call) string {
	var incident *tools.IncidentBrief
	if len(r.res) > 0 && r.res[len(r.res)-1] != nil {
		if list, ok := r.res[len(r.res)-1].Data.(*tools.ListIncidentsOut); ok {
			for i, in := range list.Incidents {
				if plan.Service == "" || contains(in.Services, plan.Service) {
					incident = &list.Incidents[i]
					break
				}
			}
		}
	}
	if plan.Intent == "similar" {
		if incident == nil {
			return "There is no open incident to compare with [1]."
		}
		res, err := r.call(ctx, "similar_incidents", map[string]any{"incident_id": incident.ID})
		if err != nil {
			return fmt.Sprintf("Looking for incidents like %q failed: %s [%d].", incident.Title, r.ans.Calls[len(r.ans.Calls)-1].Error, len(r.ans.Calls))
		}
		return r.render(plan, res, len(r.ans.Calls))
	}
	var invID, lead string
	if incident != nil {
		lead = fmt.Sprintf("%s is part of the open incident %q (%s) [1].", orAll(plan.Service), incident.Title, incident.Link)
		res, err := r.call(ctx, "get_investigation", map[string]any{"incident_id": incident.ID})
		if err == nil {
			invID = res.Data.(*tools.GetInvestigationOut).ID
		}
	}
	if invID == "" {
		if plan.Service == "" {
			return "There is no open incident [1]; name a service to investigate it (\"why is checkout slow?\")."
		}
		res, err := r.call(ctx, "start_investigation", c.Args)
		if err != nil {
			return lead + fmt.Sprintf(" No investigation could be started: %s [%d].", r.ans.Calls[len(r.ans.Calls)-1].Error, len(r.ans.Calls))
		}
		invID = res.Data.(*tools.StartInvestigationOut).ID
		if lead == "" {
			lead = fmt.Sprintf("No open incident covers %s [1], so an investigation of its last 30 minutes was started [%d].", plan.Service, len(r.ans.Calls))
		}
	}
	return lead + " " + r.awaitInvestigation(ctx, invID)
}

// awaitInvestigation reads an investigation until it is done (or the wait
// is over) and says what it found.
func (r *run) awaitInvestigation(ctx context.Context, id string) string {
	deadline := r.a.now().Add(r.a.InvestigationWait)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := r.a.reg.Call(ctx, r.env, "get_investigation", json.RawMessage(`{"id": "`+id+`"}`))
		if err != nil {
			return "Its investigation could not be read: " + err.Error() + "."
		}
		inv := res.Data.(*tools.GetInvestigationOut)
		if inv.Status != "running" || !r.a.now().Before(deadline) {
			raw, _ := json.Marshal(map[string]any{"id": id})
			c := service.AskCall{Tool: "get_investigation", Arguments: raw, Result: res.JSON, Truncated: res.Truncated}
			r.ans.Calls = append(r.ans.Calls, c)
			r.res = append(r.res, res)
			r.step(service.AskStep{Kind: "tool_result", Text: "get_investigation", Call: &c})
			return investigationWords(inv, len(r.ans.Calls))
		}
		select {
		case <-ctx.Done():
			return "The question was given up before the investigation finished."
		case <-tick.C:
		}
	}
}

// substituteP95 fills "$p95" in a bubble-up selection with the p95 the
// aggregate before it found.
func substituteP95(args map[string]any, prev *tools.Result) {
	p95 := 0.0
	if prev != nil {
		if out, ok := prev.Data.(*tools.AggregateOut); ok && len(out.Rows) > 0 {
			for _, v := range out.Rows[0].Values {
				if v != nil {
					p95 = *v
				}
			}
		}
	}
	sel, _ := args["selection"].([]any)
	for _, s := range sel {
		if m, ok := s.(map[string]any); ok && m["value"] == "$p95" {
			m["value"] = fmt.Sprintf("%g", p95)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func orAll(svc string) string {
	if svc == "" {
		return "The system"
	}
	return svc
}

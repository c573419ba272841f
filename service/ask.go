package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
)

// AskInput is a question in plain words, and the window it is about when
// it names none (the dashboard's range).
type AskInput struct {
	Question string
	Range    *Range
	// Conversation names the questions a follow-up leans on ("and its
	// p50?"); empty starts one.
	Conversation string
}

// AskCall is a tool call the ask box made, with what came back.
type AskCall struct {
	Tool      string
	Arguments json.RawMessage
	Result    json.RawMessage
	Error     string
	Truncated bool
}

// AskTable is the data behind an answer.
type AskTable struct {
	Columns []string
	Rows    [][]string
}

// AskPoint is one point of a chart: X a time (RFC3339) or a category.
type AskPoint struct {
	X string
	Y float64
}

// AskSeries is one line (or set of bars) of a chart.
type AskSeries struct {
	Name   string
	Points []AskPoint
}

// AskChart says how to draw an answer: a line over time or bars by
// category.
type AskChart struct {
	Kind   string // line, bar
	Title  string
	Unit   string // ms, ratio, req/s, count
	Series []AskSeries
}

// AskAnswer is the ask box's answer: how it read the question, the tool
// calls it made, a few sentences citing them ([1] is the first call), and
// the data as a table and a chart.
type AskAnswer struct {
	Question       string
	Interpretation string
	Understood     bool
	Answer         string
	// Suggestions are questions it does understand, close to one it did
	// not.
	Suggestions []string
	Calls       []AskCall
	Table       *AskTable
	Chart       *AskChart
	// Model names the language model that answered; empty for the
	// parser.
	Model string
	// Conversation is the one this question belongs to: send it with the
	// next question to ask a follow-up.
	Conversation string
}

// AskStep is a line of an answer as it forms: the interpretation, each
// tool call and its result, then the answer.
type AskStep struct {
	Kind   string // interpretation, tool_call, tool_result, answer
	Text   string
	Call   *AskCall
	Answer *AskAnswer
}

// Asker answers questions (assist/ask); step, when set, hears each step.
type Asker interface {
	Ask(ctx context.Context, p Principal, in AskInput, step func(AskStep)) (*AskAnswer, error)
}

// SetAsker gives the service its ask box, which is built over the
// service itself (its tools call the service with the asker's principal).
func (s *Service) SetAsker(a Asker) { s.asker = a }

// maxQuestion bounds a question's length.
const maxQuestion = 500

func (s *Service) askable(ctx context.Context, p Principal, op string, in AskInput) error {
	if err := s.allow(ctx, p, op); err != nil {
		return err
	}
	if s.asker == nil {
		return Unavailable("this process runs no ask box")
	}
	q := strings.TrimSpace(in.Question)
	if q == "" {
		return Invalid("ask a question, such as: p99 latency of checkout over the last hour")
	}
	if len(q) > maxQuestion {
		return Invalid("the question is %d characters long; at most %d", len(q), maxQuestion)
	}
	return nil
}

// Ask answers a question with the caller's rights: every tool it calls
// is checked against the caller's role.
func (s *Service) Ask(ctx context.Context, p Principal, in AskInput) (*AskAnswer, error) {
	if err := s.askable(ctx, p, "ask", in); err != nil {
		return nil, err
	}
	return s.asker.Ask(ctx, p, in, nil)
}

// AskStream answers a question step by step; the channel closes after
// the answer (or when ctx ends).
func (s *Service) AskStream(ctx context.Context, p Principal, in AskInput) (<-chan AskStep, error) {
	if err := s.askable(ctx, p, "askStream", in); err != nil {
		return nil, err
	}
	if err := s.openStream(ctx, p); err != nil {
		return nil, err
	}
	out := make(chan AskStep, 16)
	var mu sync.Mutex
	done := false
	send := func(st AskStep) {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		select {
		case out <- st:
		case <-ctx.Done():
		}
	}
	go func() {
		ans, err := s.asker.Ask(ctx, p, in, send)
		if err != nil {
			send(AskStep{Kind: "answer", Text: "the question could not be answered: " + safeMessage(err)})
		} else {
			send(AskStep{Kind: "answer", Text: ans.Answer, Answer: ans})
		}
		mu.Lock()
		done = true
		close(out)
		mu.Unlock()
	}()
	return out, nil
}

// safeMessage is an error as a caller may read it.
func safeMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}

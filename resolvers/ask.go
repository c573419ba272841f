package resolvers

import (
	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/service"
)

func askCallModel(c *service.AskCall) *model.AskToolCall {
	m := &model.AskToolCall{Name: c.Tool, Arguments: string(c.Arguments), Error: strPtr(c.Error), Truncated: c.Truncated}
	if len(c.Result) > 0 {
		s := string(c.Result)
		m.Result = &s
	}
	return m
}

func askModel(a *service.AskAnswer) *model.AskResult {
	m := &model.AskResult{Question: a.Question, Interpretation: strPtr(a.Interpretation), Understood: a.Understood, Answer: a.Answer,
		Suggestions: a.Suggestions, ToolCalls: list(a.Calls, askCallModel), Model: strPtr(a.Model), Conversation: a.Conversation}
	if m.Suggestions == nil {
		m.Suggestions = []string{}
	}
	if t := a.Table; t != nil {
		m.Table = &model.AskTable{Columns: t.Columns, Rows: t.Rows}
		if m.Table.Rows == nil {
			m.Table.Rows = [][]string{}
		}
	}
	if c := a.Chart; c != nil {
		m.Chart = &model.AskChart{Kind: c.Kind, Title: c.Title, Unit: strPtr(c.Unit), Series: []*model.AskSeries{}}
		for _, s := range c.Series {
			ms := &model.AskSeries{Name: s.Name, Points: []*model.AskPoint{}}
			for _, p := range s.Points {
				ms.Points = append(ms.Points, &model.AskPoint{X: p.X, Y: p.Y})
			}
			m.Chart.Series = append(m.Chart.Series, ms)
		}
	}
	return m
}

func askStepModel(s *service.AskStep) *model.AskStep {
	m := &model.AskStep{Kind: s.Kind, Text: s.Text}
	if s.Call != nil {
		m.ToolCall = askCallModel(s.Call)
	}
	if s.Answer != nil {
		m.Result = askModel(s.Answer)
	}
	return m
}

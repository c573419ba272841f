package service

import (
	"context"
	"sort"

	"github.com/inquest/inquest/agents/changes"
	"github.com/inquest/inquest/domain"
)

// ErrorGroupsInput asks what fails most in a window, for every face that
// lists errors by kind (the top_errors tool, the ask box).
type ErrorGroupsInput struct {
	Range   Range
	Service string // empty: every service
	// Max bounds the failed spans and error logs read (default 2000).
	Max int
}

// ErrorGroup is one kind of error: where and how often, by its message's
// template (numbers, IDs and other variables masked).
type ErrorGroup struct {
	Service  string
	Template string
	Example  string
	Count    float64 // sample rates counted
	Kind     string  // span or log
}

// ErrorGroups lists error groups, most frequent first.
type ErrorGroups struct {
	Groups []ErrorGroup
	// Read is how many failed spans and error logs were read; Full says the
	// window had no more than that.
	Read int
	Full bool
}

// errorSeverities are the log severities read as errors.
var errorSeverities = []string{"ERROR", "FATAL", "CRITICAL", "error", "fatal", "critical"}

// ErrorGroups groups a window's failed spans and error log lines by service
// and message template, with the same template miner the investigation
// reads logs with.
func (s *Service) ErrorGroups(ctx context.Context, p Principal, in ErrorGroupsInput) (*ErrorGroups, error) {
	if in.Max <= 0 {
		in.Max = 2000
	}
	type key struct {
		svc, kind string
		t         *changes.Template
	}
	miner := changes.NewMiner()
	counts := map[key]float64{}
	out := &ErrorGroups{Full: true}
	eq := func(field, v string) Filter { return Filter{Field: field, Op: domain.OpEq, Value: &v} }
	var base []Filter
	if in.Service != "" {
		base = append(base, eq("service", in.Service))
	}
	for _, cond := range [][]Filter{
		{eq("status", "error")},
		{eq("kind", "log"), {Field: "severity", Op: domain.OpIn, Values: errorSeverities}},
	} {
		first := 500
		q := EventsInput{Range: in.Range, Filters: append(append([]Filter{}, base...), cond...), First: &first}
		for out.Read < in.Max {
			page, err := s.Events(ctx, p, q)
			if err != nil {
				return nil, err
			}
			for i := range page.Events {
				e := &page.Events[i]
				if e.Kind == domain.KindLog && e.Status == domain.StatusError && len(cond) > 1 {
					continue // counted by the first condition
				}
				msg, kind := errorText(e)
				w := e.SampleRate
				if w <= 0 {
					w = 1
				}
				counts[key{e.Service, kind, miner.Add(msg)}] += w
			}
			out.Read += len(page.Events)
			if page.Next == nil {
				break
			}
			q.After = page.Next
		}
		if out.Read >= in.Max {
			out.Full = false
		}
	}
	for k, n := range counts {
		out.Groups = append(out.Groups, ErrorGroup{Service: k.svc, Template: k.t.Text(), Example: k.t.Example, Count: n, Kind: k.kind})
	}
	sort.Slice(out.Groups, func(i, j int) bool {
		if out.Groups[i].Count != out.Groups[j].Count {
			return out.Groups[i].Count > out.Groups[j].Count
		}
		return out.Groups[i].Template < out.Groups[j].Template
	})
	return out, nil
}

// errorText is what an error says: a log's body, or a span's name and
// error message.
func errorText(e *domain.Event) (string, string) {
	if e.Kind == domain.KindLog {
		if e.Body != "" {
			return e.Body, "log"
		}
		return e.Name, "log"
	}
	if _, v, ok := e.ErrorMessage(); ok {
		return e.Name + ": " + v, "span"
	}
	return e.Name + ": error", "span"
}

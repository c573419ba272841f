package tools

import (
	"context"
	"sort"

	"github.com/inquest/inquest/agents/changes"
	"github.com/inquest/inquest/service"
	"github.com/inquest/inquest/storage"
)

// TopErrorsIn asks what fails most in a window.
type TopErrorsIn struct {
	Window
	Service string `json:"service,omitempty" jsonschema:"only this service's errors"`
}

// ErrorGroup is one kind of error: where and how often, by its message's
// template (variables masked as <*>).
type ErrorGroup struct {
	Service  string  `json:"service"`
	Template string  `json:"template"`
	Example  string  `json:"example"`
	Count    float64 `json:"count"`
	Kind     string  `json:"kind"` // span or log
}

// TopErrorsOut lists error groups, most frequent first.
type TopErrorsOut struct {
	Groups []ErrorGroup `json:"groups"`
	// Read is how many failed spans and error logs were read to make them.
	Read int `json:"read"`
	Bounds
}

// Trim drops the rarer half.
func (o *TopErrorsOut) Trim() bool {
	return o.halve("cut to fit; name a service to narrow", cut(&o.Groups))
}

// maxErrorLines bounds the failed spans and error logs read.
const maxErrorLines = 2000

func topErrors() Tool {
	return define(Tool{Name: "top_errors", Op: "events", Budget: 2500,
		Description: "Group the window's failed spans and error log lines by service and message template (numbers and ids masked), most frequent first, with an example of each. " +
			"Use it to learn what is failing and where; then bubble_up on status = error to find which attribute values the failures share, or search_events for examples."},
		func(ctx context.Context, env Env, in TopErrorsIn) (*TopErrorsOut, error) {
			type key struct {
				svc, kind string
				t         *changes.Template
			}
			miner := changes.NewMiner()
			counts := map[key]float64{}
			out := &TopErrorsOut{Groups: []ErrorGroup{}}
			base := serviceFilter(in.Service, nil)
			for _, cond := range [][]Filter{
				{{Field: "status", Value: "error"}},
				{{Field: "kind", Value: "log"}, {Field: "severity", Op: "in", Values: []string{"ERROR", "FATAL", "CRITICAL", "error", "fatal", "critical"}}},
			} {
				first := 500
				q := service.EventsInput{Range: in.rng(), Filters: filtersIn(append(append([]Filter{}, base...), cond...)), First: &first}
				for out.Read < maxErrorLines {
					page, err := env.Svc.Events(ctx, env.P, q)
					if err != nil {
						return nil, err
					}
					for i := range page.Events {
						e := &page.Events[i]
						if e.Kind == storage.KindLog && e.Status == storage.StatusError && len(cond) > 1 {
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
			}
			for k, n := range counts {
				out.Groups = append(out.Groups, ErrorGroup{Service: k.svc, Template: clip(k.t.Text(), 200), Example: clip(k.t.Example, 200),
					Count: round(n), Kind: k.kind})
			}
			sort.Slice(out.Groups, func(i, j int) bool {
				if out.Groups[i].Count != out.Groups[j].Count {
					return out.Groups[i].Count > out.Groups[j].Count
				}
				return out.Groups[i].Template < out.Groups[j].Template
			})
			if len(out.Groups) > 20 {
				out.cutTo(20, len(out.Groups), "name a service to narrow")
				out.Groups = out.Groups[:20]
			}
			if out.Read >= maxErrorLines {
				out.Truncated, out.Note = true, "read the newest 2000 errors only; narrow the window or name a service for exact counts (aggregate counts them all)"
			}
			return out, nil
		})
}

// errorText is what an error says: a log's body, or a span's name and
// error message.
func errorText(e *storage.Event) (string, string) {
	if e.Kind == storage.KindLog {
		if e.Body != "" {
			return e.Body, "log"
		}
		return e.Name, "log"
	}
	if _, v, ok := errorMessage(e); ok {
		return e.Name + ": " + v, "span"
	}
	return e.Name + ": error", "span"
}

// errorKeys are the attributes that say what went wrong with a span, the
// most telling first.
var errorKeys = []string{"exception.message", "status.message", "error.message", "exception.type", "http.response.status_code", "http.status_code"}

// errorMessage is the first of a span's errorKeys it has.
func errorMessage(e *storage.Event) (key, value string, ok bool) {
	for _, k := range errorKeys {
		if v, found := e.Attrs.Get(k); found && v != "" {
			return k, v, true
		}
	}
	return "", "", false
}

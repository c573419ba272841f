package tools

import (
	"context"
	"strings"

	"github.com/inquest/inquest/service"
)

// TopErrorsIn asks what fails most in a window.
type TopErrorsIn struct {
	Window
	Service string `json:"service,omitempty" jsonschema:"only this service's errors"`
}

// ErrorGroup is one kind of error: where and how often, by its message's
// template (numbers, IDs and other variables masked).
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
			got, err := env.Svc.ErrorGroups(ctx, env.P, service.ErrorGroupsInput{Range: in.rng(), Service: strings.TrimSpace(in.Service), Max: maxErrorLines})
			if err != nil {
				return nil, err
			}
			out := &TopErrorsOut{Groups: []ErrorGroup{}, Read: got.Read}
			for _, g := range got.Groups {
				out.Groups = append(out.Groups, ErrorGroup{Service: g.Service, Template: clip(g.Template, 200), Example: clip(g.Example, 200),
					Count: round(g.Count), Kind: g.Kind})
			}
			if len(out.Groups) > 20 {
				out.cutTo(20, len(out.Groups), "name a service to narrow")
				out.Groups = out.Groups[:20]
			}
			if !got.Full {
				out.Truncated, out.Note = true, "read the newest 2000 errors only; narrow the window or name a service for exact counts (aggregate counts them all)"
			}
			return out, nil
		})
}

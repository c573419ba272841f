package tools

import (
	"context"
	"sort"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// ListChangesIn asks for the changes made in a window.
type ListChangesIn struct {
	Window
	Service string `json:"service,omitempty" jsonschema:"only this service's changes"`
}

// ChangeRow is a deploy, a configuration change or a feature flag.
type ChangeRow struct {
	Time        string `json:"time"`
	Service     string `json:"service"`
	Type        string `json:"type"`
	Version     string `json:"version,omitempty"`
	Previous    string `json:"previous_version,omitempty"`
	Description string `json:"description,omitempty"`
	Author      string `json:"author,omitempty"`
}

// ListChangesOut lists changes, newest first.
type ListChangesOut struct {
	Changes []ChangeRow `json:"changes"`
	Bounds
}

// Trim drops the older half.
func (o *ListChangesOut) Trim() bool {
	return o.halve("cut to fit; narrow the window or name a service", cut(&o.Changes))
}

func listChanges() Tool {
	return define(Tool{Name: "list_changes", Op: "events", Budget: 2000,
		Description: "List the changes recorded in a window, newest first: deploys (with version and the version before), configuration changes and feature flags, " +
			"from change events (recordChange, CD webhooks, events with change.type). Answers 'what changed in the last 30 minutes?'; " +
			"a change shortly before an incident's start is a prime suspect."},
		func(ctx context.Context, env Env, in ListChangesIn) (*ListChangesOut, error) {
			w := in.Window
			if w.From == "" {
				w.From = "now-2h"
			}
			out := &ListChangesOut{Changes: []ChangeRow{}}
			seen := map[uint64]bool{}
			for _, cond := range [][]Filter{
				{{Field: "attr." + domain.ChangeTypeAttr, Op: "exists"}},
				{{Field: "kind", Value: "event"}, {Field: "name", Value: "deploy"}},
			} {
				first := 200
				page, err := env.Svc.Events(ctx, env.P, service.EventsInput{Range: w.rng(), Filters: filtersIn(serviceFilter(in.Service, cond)), First: &first})
				if err != nil {
					return nil, err
				}
				for i := range page.Events {
					e := &page.Events[i]
					typ, ok := domain.ChangeType(e)
					if !ok || seen[e.ID] {
						continue
					}
					seen[e.ID] = true
					row := ChangeRow{Time: ts(e.TimeUnixNano), Service: e.Service, Type: typ}
					row.Version, _ = e.Attrs.Get("version")
					row.Previous, _ = e.Attrs.Get("previous_version")
					row.Description, _ = e.Attrs.Get("description")
					row.Author, _ = e.Attrs.Get("author")
					if row.Description == "" {
						row.Description = clip(e.Body, 200)
					}
					out.Changes = append(out.Changes, row)
				}
			}
			sort.SliceStable(out.Changes, func(i, j int) bool { return out.Changes[i].Time > out.Changes[j].Time })
			if len(out.Changes) > 30 {
				out.cutTo(30, len(out.Changes), "narrow the window or name a service")
				out.Changes = out.Changes[:30]
			}
			if len(out.Changes) == 0 {
				out.Note = "no change events in the window; deploys are recorded with recordChange or events carrying change.type"
			}
			return out, nil
		})
}

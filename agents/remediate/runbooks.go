package remediate

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/inquest/inquest/domain"
)

// Runbook is a named, parameterised remedy people wrote for a kind of
// hypothesis: when it matches, it is proposed instead of the catalog's.
type Runbook struct {
	Name string `yaml:"name"`
	// Match: the hypothesis' service and cause (empty: any), and tags
	// of which the service must carry one (ServiceTags: "database", ...).
	Match struct {
		Service string   `yaml:"service"`
		Cause   string   `yaml:"cause"`
		Tags    []string `yaml:"tags"`
	} `yaml:"match"`
	Action string `yaml:"action"`
	Risk   string `yaml:"risk"`
	// Params may name the blamed change's fields: {{version}},
	// {{previous_version}}, {{key}}, and {{service}}.
	Params   map[string]string `yaml:"params"`
	Expected string            `yaml:"expected"`
	Rollback string            `yaml:"rollback"`
	// Command and UndoCommand are what the shell executor runs: a program
	// and its arguments, each argument one word after {{...}} are filled
	// (never through a shell).
	Command     []string `yaml:"command"`
	UndoCommand []string `yaml:"undo_command"`
	// Source is file or api (the tenant's own, set through the API).
	Source string `yaml:"-" json:"-"`
}

// Runbooks is the registry, in the file's order: the first match wins.
type Runbooks struct {
	Runbooks    []Runbook           `yaml:"runbooks"`
	ServiceTags map[string][]string `yaml:"service_tags"`
}

// LoadRunbooks reads a runbook file.
func LoadRunbooks(path string) (*Runbooks, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runbooks: %w", err)
	}
	var rb Runbooks
	if err := yaml.Unmarshal(b, &rb); err != nil {
		return nil, fmt.Errorf("runbooks %s: %w", path, err)
	}
	for i, r := range rb.Runbooks {
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("runbooks %s: runbook %d: %w", path, i+1, err)
		}
	}
	return &rb, nil
}

// Named finds a runbook by name.
func (rb *Runbooks) Named(name string) *Runbook {
	if rb == nil {
		return nil
	}
	for i := range rb.Runbooks {
		if rb.Runbooks[i].Name == name {
			return &rb.Runbooks[i]
		}
	}
	return nil
}

// match finds the first runbook for a hypothesis.
func (rb *Runbooks) match(h domain.Hypothesis) *Runbook {
	if rb == nil {
		return nil
	}
	for i := range rb.Runbooks {
		r := &rb.Runbooks[i]
		if r.Match.Service != "" && r.Match.Service != h.Service {
			continue
		}
		if r.Match.Cause != "" && r.Match.Cause != h.Cause {
			continue
		}
		if len(r.Match.Tags) > 0 && !slices.ContainsFunc(r.Match.Tags, func(tag string) bool {
			return slices.Contains(rb.ServiceTags[h.Service], tag)
		}) {
			continue
		}
		return r
	}
	return nil
}

// proposal is the runbook's proposal for h.
func (r *Runbook) proposal(h domain.Hypothesis, rationale string) domain.Proposal {
	sub := map[string]string{"{{service}}": h.Service}
	if c := h.Change; c != nil {
		sub["{{version}}"], sub["{{previous_version}}"], sub["{{key}}"] = c.Version, c.PreviousVersion, c.Key
	}
	params := map[string]string{"runbook": r.Name}
	for k, v := range r.Params {
		for from, to := range sub {
			v = strings.ReplaceAll(v, from, to)
		}
		params[k] = v
	}
	return domain.Proposal{Action: r.Action, Risk: r.Risk, Params: params, Rationale: rationale + " Runbook: " + r.Name + ".",
		Expected: r.Expected, Rollback: r.Rollback}
}

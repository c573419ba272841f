package remediate

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
)

// TierSpec is a tier as people write it, in the policy file or through
// the API.
type TierSpec struct {
	// Approvers are the seats: approver levels (team-lead, sre, manager,
	// vp), or "responder" for anyone who may respond; none: by policy.
	Approvers  []string `yaml:"approvers" json:"approvers"`
	Timeout    string   `yaml:"timeout" json:"timeout,omitempty"`
	EscalateTo string   `yaml:"escalate_to" json:"escalate_to,omitempty"`
}

// PolicySpec is a tenant's policy as people write it: tiers that differ
// from the process's, and the roles (beyond approver:LEVEL) that count as
// an approver level.
type PolicySpec struct {
	Tiers  map[string]TierSpec `yaml:",inline" json:"tiers"`
	Levels map[string]string   `yaml:"levels" json:"levels,omitempty"`
}

type policyFile struct {
	Tiers   map[string]TierSpec   `yaml:"tiers"`
	Levels  map[string]string     `yaml:"levels"`
	Tenants map[string]PolicySpec `yaml:"tenants"`
}

var risks = domain.Risks

// FilePolicies is what a policy file sets: the policy of every tenant,
// the roles that count as levels, and tenants that differ.
type FilePolicies struct {
	Policy  Policy
	Levels  map[string]string
	Tenants map[string]PolicySpec
}

// LoadPolicies reads a policy file: tiers that differ from the default
// policy, roles that count as approver levels, and tenants whose tiers or
// roles differ from that. For example
//
//	tiers:
//	  medium: {approvers: [sre], timeout: 45m, escalate_to: high}
//	levels:
//	  payments-lead: team-lead
//	tenants:
//	  acme:
//	    low: {approvers: [team-lead], timeout: 10m, escalate_to: medium}
//	    levels: {acme-oncall-manager: manager}
func LoadPolicies(path string) (FilePolicies, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return FilePolicies{}, fmt.Errorf("policy file: %w", err)
	}
	var f policyFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return FilePolicies{}, fmt.Errorf("policy file %s: %w", path, err)
	}
	out := FilePolicies{Levels: f.Levels, Tenants: f.Tenants}
	if out.Policy, err = overlay(DefaultPolicy(), f.Tiers); err != nil {
		return FilePolicies{}, fmt.Errorf("policy file %s: %w", path, err)
	}
	if err := checkLevels(f.Levels); err != nil {
		return FilePolicies{}, fmt.Errorf("policy file %s: %w", path, err)
	}
	for tenant, spec := range f.Tenants {
		if err := spec.Check(out.Policy); err != nil {
			return FilePolicies{}, fmt.Errorf("policy file %s: tenant %s: %w", path, tenant, err)
		}
	}
	return out, nil
}

// Check says what is wrong with a spec laid over base, or nil.
func (s PolicySpec) Check(base Policy) error {
	if _, err := overlay(base, s.Tiers); err != nil {
		return err
	}
	return checkLevels(s.Levels)
}

func checkLevels(levels map[string]string) error {
	for role, level := range levels {
		if strings.TrimSpace(role) == "" {
			return fmt.Errorf("levels: an empty role")
		}
		if !slices.Contains(auth.ApproverLevels, level) {
			return fmt.Errorf("levels: role %s: %q is none of the levels %v", role, level, auth.ApproverLevels)
		}
	}
	return nil
}

// overlay is pol with the tiers given replaced.
func overlay(pol Policy, tiers map[string]TierSpec) (Policy, error) {
	out := Policy{}
	for k, v := range pol {
		out[k] = v
	}
	for risk, tf := range tiers {
		if !slices.Contains(risks, risk) {
			return nil, fmt.Errorf("tier %q is none of %v", risk, risks)
		}
		t := Tier{EscalateTo: tf.EscalateTo}
		if t.EscalateTo != "" && !slices.Contains(risks, t.EscalateTo) {
			return nil, fmt.Errorf("tier %s: escalate_to %q is none of %v", risk, t.EscalateTo, risks)
		}
		if t.EscalateTo == risk {
			return nil, fmt.Errorf("tier %s: escalates to itself", risk)
		}
		for _, a := range tf.Approvers {
			switch {
			case a == "responder":
				t.Seats = append(t.Seats, Seat{})
			case slices.Contains(auth.ApproverLevels, a):
				t.Seats = append(t.Seats, Seat{Level: a})
			default:
				return nil, fmt.Errorf("tier %s: approver %q is neither responder nor a level of %v", risk, a, auth.ApproverLevels)
			}
		}
		if len(t.Seats) > 0 {
			d, err := time.ParseDuration(tf.Timeout)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("tier %s: timeout %q: a duration such as 30m", risk, tf.Timeout)
			}
			t.Timeout = d
		}
		out[risk] = t
	}
	return out, nil
}

// Spec writes a policy the way people write it.
func (pol Policy) Spec() map[string]TierSpec {
	out := map[string]TierSpec{}
	for risk, t := range pol {
		ts := TierSpec{EscalateTo: t.EscalateTo, Approvers: []string{}}
		for _, s := range t.Seats {
			if s.Level == "" {
				ts.Approvers = append(ts.Approvers, "responder")
			} else {
				ts.Approvers = append(ts.Approvers, s.Level)
			}
		}
		if t.Timeout > 0 {
			ts.Timeout = t.Timeout.String()
		}
		out[risk] = ts
	}
	return out
}

package remediate

import (
	"fmt"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/storage"
)

// tierFile is a tier as a policy file writes it.
type tierFile struct {
	// Approvers are the seats: approver levels (team-lead, sre, manager,
	// vp), or "responder" for anyone who may respond; none: by policy.
	Approvers  []string `yaml:"approvers"`
	Timeout    string   `yaml:"timeout"`
	EscalateTo string   `yaml:"escalate_to"`
}

type policyFile struct {
	Tiers   map[string]tierFile            `yaml:"tiers"`
	Tenants map[string]map[string]tierFile `yaml:"tenants"`
}

var risks = []string{storage.RiskInfo, storage.RiskLow, storage.RiskMedium, storage.RiskHigh, storage.RiskCritical}

// LoadPolicies reads a policy file: tiers that differ from the default
// policy, and tenants whose tiers differ from that. For example
//
//	tiers:
//	  medium: {approvers: [sre], timeout: 45m, escalate_to: high}
//	tenants:
//	  acme:
//	    low: {approvers: [team-lead], timeout: 10m, escalate_to: medium}
func LoadPolicies(path string) (Policy, map[string]Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("policy file: %w", err)
	}
	var f policyFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	base, err := overlay(DefaultPolicy(), f.Tiers)
	if err != nil {
		return nil, nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	tenants := map[string]Policy{}
	for tenant, tiers := range f.Tenants {
		if tenants[tenant], err = overlay(base, tiers); err != nil {
			return nil, nil, fmt.Errorf("policy file %s: tenant %s: %w", path, tenant, err)
		}
	}
	return base, tenants, nil
}

// overlay is pol with the tiers given replaced.
func overlay(pol Policy, tiers map[string]tierFile) (Policy, error) {
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

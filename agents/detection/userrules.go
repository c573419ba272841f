package detection

import (
	"context"
	"errors"
	"fmt"
	"github.com/inquest/inquest/agents/signals"
	"time"

	"github.com/inquest/inquest/domain"
)

// ErrBadRule is a rule that cannot be watched; the message says why.
var ErrBadRule = errors.New("bad rule")

// ruleState is a user rule being watched.
type ruleState struct {
	rule domain.Rule
	th   *Threshold
	br   *BurnRate
	w    *watched
}

// ValidateRule checks a rule and fills in its defaults.
func ValidateRule(r *domain.Rule) error {
	if r.Name == "" || r.Service == "" {
		return fmt.Errorf("%w: a rule needs a name and a service", ErrBadRule)
	}
	switch r.Kind {
	case domain.RuleThreshold:
		switch r.Signal {
		case SignalRate, SignalErrorRatio, SignalP99:
		default:
			return fmt.Errorf("%w: signal %q: want rate, error_ratio or p99_ms", ErrBadRule, r.Signal)
		}
		if err := (&Threshold{Op: r.Op}).Validate(); err != nil {
			return fmt.Errorf("%w: %v", ErrBadRule, err)
		}
		if r.ForNano < 0 {
			return fmt.Errorf("%w: for must not be negative", ErrBadRule)
		}
	case domain.RuleSLO:
		if r.Objective <= 0 || r.Objective >= 1 {
			return fmt.Errorf("%w: objective %g: want a ratio between 0 and 1, such as 0.999", ErrBadRule, r.Objective)
		}
	default:
		return fmt.Errorf("%w: kind %q: want threshold or slo", ErrBadRule, r.Kind)
	}
	return nil
}

func newRuleState(r domain.Rule) (*ruleState, error) {
	st := &ruleState{rule: r, w: &watched{tenant: r.Tenant, service: r.Service, operation: r.Operation, signal: r.Signal, rule: r.Name}}
	switch r.Kind {
	case domain.RuleThreshold:
		st.th = &Threshold{Op: r.Op, Value: r.Value, For: time.Duration(r.ForNano)}
		st.w.fixedSeverity = "high"
	case domain.RuleSLO:
		br, err := NewBurnRate(r.Objective)
		if err != nil {
			return nil, err
		}
		st.br = br
		st.w.signal = signals.SLOBurn
	}
	return st, nil
}

// LoadRules reads every tenant's rules from the store; Start calls it.
func (e *Engine) LoadRules(ctx context.Context) error {
	rs, err := e.store.Rules(ctx, "*")
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules = map[string][]*ruleState{}
	for _, r := range rs {
		st, err := newRuleState(r)
		if err != nil {
			e.logger.Warn("rule skipped", "tenant", r.Tenant, "rule", r.Name, "err", err)
			continue
		}
		e.rules[r.Tenant] = append(e.rules[r.Tenant], st)
	}
	return nil
}

// AddRule validates, stores and starts watching a rule.
func (e *Engine) AddRule(ctx context.Context, r domain.Rule) (*domain.Rule, error) {
	if err := ValidateRule(&r); err != nil {
		return nil, err
	}
	r.ID, r.CreatedNano = domain.NewID(), e.now().UnixNano()
	st, err := newRuleState(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRule, err)
	}
	if err := e.store.PutRule(ctx, r); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.rules[r.Tenant] = append(e.rules[r.Tenant], st)
	e.mu.Unlock()
	return &r, nil
}

// DeleteRule stops watching a rule and removes it.
func (e *Engine) DeleteRule(ctx context.Context, tenant, id string) error {
	if err := e.store.DeleteRule(ctx, tenant, id); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rs := e.rules[tenant]
	for i, st := range rs {
		if st.rule.ID == id {
			e.rules[tenant] = append(rs[:i:i], rs[i+1:]...)
			break
		}
	}
	return nil
}

// scoreRules evaluates the rules against the step's RED figures.
func (e *Engine) scoreRules(ctx context.Context, start int64, red map[redKey]*redStep) {
	res := e.cfg.Resolution.Seconds()
	for tenant, rs := range e.rules {
		for _, st := range rs {
			s := red[redKey{tenant, st.rule.Service, st.rule.Operation}]
			switch {
			case st.br != nil:
				if s != nil {
					st.br.Add(start, s.count, s.errors)
				}
				v, w := st.br.Evaluate()
				st.w.fixedSeverity = map[string]string{"page": "critical", "ticket": "medium"}[w.Severity]
				if st.w.fixedSeverity == "" {
					st.w.fixedSeverity = "medium"
				}
				st.w.burn = w
				e.advance(ctx, st.w, start, v.Score, v)
			case s != nil:
				var x float64
				switch st.rule.Signal {
				case SignalRate:
					x = s.count / res
				case SignalErrorRatio:
					if s.count == 0 {
						continue
					}
					x = s.errors / s.count
				case SignalP99:
					if s.spans() == 0 {
						continue
					}
					x = s.p99()
				}
				e.advance(ctx, st.w, start, x, st.th.Observe(start, x))
			}
		}
	}
}

// explainRule is the sentence of a rule's anomaly.
func explainRule(w *watched, v Verdict, observed float64) string {
	if w.signal == signals.SLOBurn {
		return fmt.Sprintf("rule %q: %s is burning its error budget %.1fx as fast as it can afford over %s and %s (alert at %gx, %s)",
			w.rule, w.service, v.Score, w.burn.Long, w.burn.Short, w.burn.Factor, w.burn.Severity)
	}
	return fmt.Sprintf("rule %q: %s %s is %s, past %s", w.rule, w.service, signals.Name(w.signal), format(w.signal, observed),
		format(w.signal, v.Expected))
}

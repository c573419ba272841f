package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// Setting keys of what people change through the API.
const (
	settingPolicy   = "approval-policy"
	settingRunbooks = "runbooks"
)

// Rules are what a tenant's proposals are made and judged by: the tiers,
// the roles that count as approver levels, and the runbooks — the
// process's (default or file), then the tenant's section of the policy
// file, then what the tenant's admins set through the API, each laid over
// the one before.
type Rules struct {
	Policy Policy
	Levels map[string]string
	// Runbooks are the tenant's own (API) first, then the file's.
	Runbooks *Runbooks
	// Source says where the tiers come from: default, file or api.
	Source string
}

// Rules reads the tenant's rules now (a change made through another
// replica counts at once).
func (f *Flow) Rules(ctx context.Context, tenant string) (Rules, error) {
	r := Rules{Policy: f.cfg.Policy, Levels: maps.Clone(f.cfg.Levels), Runbooks: f.cfg.Runbooks, Source: f.cfg.source}
	if r.Levels == nil {
		r.Levels = map[string]string{}
	}
	lay := func(spec PolicySpec, source string) error {
		pol, err := overlay(r.Policy, spec.Tiers)
		if err != nil {
			return err
		}
		r.Policy, r.Source = pol, source
		maps.Copy(r.Levels, spec.Levels)
		return nil
	}
	if spec, ok := f.cfg.Tenants[tenant]; ok {
		if err := lay(spec, "file"); err != nil {
			return Rules{}, err
		}
	}
	if f.cfg.Settings == nil {
		return r, nil
	}
	var spec PolicySpec
	switch found, err := f.setting(ctx, tenant, settingPolicy, &spec); {
	case err != nil:
		return Rules{}, err
	case found:
		if err := lay(spec, "api"); err != nil {
			return Rules{}, fmt.Errorf("the stored policy of %s: %w", tenant, err)
		}
	}
	var own []Runbook
	switch found, err := f.setting(ctx, tenant, settingRunbooks, &own); {
	case err != nil:
		return Rules{}, err
	case found && len(own) > 0:
		for i := range own {
			own[i].Source = "api"
		}
		rb := &Runbooks{Runbooks: own}
		if f.cfg.Runbooks != nil {
			rb.Runbooks = append(rb.Runbooks, f.cfg.Runbooks.Runbooks...)
			rb.ServiceTags = f.cfg.Runbooks.ServiceTags
		}
		r.Runbooks = rb
	}
	return r, nil
}

func (f *Flow) setting(ctx context.Context, tenant, key string, v any) (bool, error) {
	b, err := f.cfg.Settings.Setting(ctx, tenant, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("setting %s of %s: %w", key, tenant, err)
	}
	return true, nil
}

func (f *Flow) putSetting(ctx context.Context, tenant, key string, v any) error {
	if f.cfg.Settings == nil {
		return fmt.Errorf("%w: this process keeps no settings", ErrInvalid)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return f.cfg.Settings.PutSetting(ctx, tenant, key, b)
}

// ErrInvalid is a policy or runbook that cannot be used as written.
var ErrInvalid = errors.New("invalid")

// SetPolicy makes spec the tenant's policy set through the API, laid over
// the process's and the file's (tiers not named keep theirs).
func (f *Flow) SetPolicy(ctx context.Context, tenant string, spec PolicySpec) (Rules, error) {
	base := f.cfg.Policy
	if fs, ok := f.cfg.Tenants[tenant]; ok {
		var err error
		if base, err = overlay(base, fs.Tiers); err != nil {
			return Rules{}, err
		}
	}
	if err := spec.Check(base); err != nil {
		return Rules{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := f.putSetting(ctx, tenant, settingPolicy, spec); err != nil {
		return Rules{}, err
	}
	return f.Rules(ctx, tenant)
}

// PutRunbook adds the tenant's own runbook, or replaces the one of that
// name. Runbooks set through the API carry no commands: what the shell
// executor may run is the operator's file alone.
func (f *Flow) PutRunbook(ctx context.Context, tenant string, rb Runbook) error {
	if err := rb.check(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(rb.Command) > 0 || len(rb.UndoCommand) > 0 {
		return fmt.Errorf("%w: runbook %s: commands come only from the runbook file on the server", ErrInvalid, rb.Name)
	}
	var own []Runbook
	if _, err := f.setting(ctx, tenant, settingRunbooks, &own); err != nil {
		return err
	}
	if i := slices.IndexFunc(own, func(r Runbook) bool { return r.Name == rb.Name }); i >= 0 {
		own[i] = rb
	} else {
		own = append(own, rb)
	}
	return f.putSetting(ctx, tenant, settingRunbooks, own)
}

// DeleteRunbook removes the tenant's own runbook of that name (false when
// there is none; the file's cannot be removed through the API).
func (f *Flow) DeleteRunbook(ctx context.Context, tenant, name string) (bool, error) {
	var own []Runbook
	if _, err := f.setting(ctx, tenant, settingRunbooks, &own); err != nil {
		return false, err
	}
	i := slices.IndexFunc(own, func(r Runbook) bool { return r.Name == name })
	if i < 0 {
		return false, nil
	}
	return true, f.putSetting(ctx, tenant, settingRunbooks, slices.Delete(own, i, i+1))
}

// levelsOf are the approver levels a person holds under the rules: their
// approver:LEVEL roles, and roles the policy counts as a level.
func (r Rules) levelsOf(a Actor) []string {
	levels := slices.Clone(a.Levels)
	for _, role := range a.Roles {
		if l, ok := r.Levels[role]; ok && !slices.Contains(levels, l) {
			levels = append(levels, l)
		}
	}
	slices.SortFunc(levels, func(a, b string) int { return rank(a) - rank(b) })
	return levels
}

// check says what is wrong with a runbook as written, or nil.
func (r Runbook) check() error {
	if strings.TrimSpace(r.Name) == "" || strings.TrimSpace(r.Action) == "" {
		return fmt.Errorf("a runbook needs a name and an action")
	}
	if !slices.Contains(risks, r.Risk) {
		return fmt.Errorf("runbook %s: risk %q is none of %v", r.Name, r.Risk, risks)
	}
	if r.Match.Cause != "" && !slices.Contains(domain.Causes, r.Match.Cause) {
		return fmt.Errorf("runbook %s: cause %q is none of %v", r.Name, r.Match.Cause, domain.Causes)
	}
	return nil
}

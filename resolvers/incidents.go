package resolvers

import (
	"context"
	"errors"
	"time"

	"github.com/inquest/inquest/agents/detection"
	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/storage"
)

func anomalyModel(a *storage.Anomaly) *model.Anomaly {
	m := &model.Anomaly{ID: a.ID, Series: a.Series, Service: a.Service, Operation: strPtr(a.Operation), Signal: a.Signal,
		Start: formatTime(a.StartNano), Severity: a.Severity, Score: a.Score, Expected: a.Expected, Observed: a.Observed,
		Lower: a.Lower, Upper: a.Upper, Detector: a.Detector, Explanation: a.Explanation, IncidentID: strPtr(a.IncidentID)}
	if a.EndNano > 0 {
		end := formatTime(a.EndNano)
		m.End = &end
	}
	return m
}

func incidentModel(in *storage.Incident) *model.Incident {
	m := &model.Incident{ID: in.ID, Title: in.Title, Severity: in.Severity, Status: in.Status, Services: in.Services,
		OpenedAt: formatTime(in.OpenedNano), UpdatedAt: formatTime(in.UpdatedNano), AcknowledgedBy: strPtr(in.AcknowledgedBy)}
	if m.Services == nil {
		m.Services = []string{}
	}
	if in.ResolvedNano > 0 {
		r := formatTime(in.ResolvedNano)
		m.ResolvedAt = &r
	}
	for _, e := range in.Timeline {
		m.Timeline = append(m.Timeline, &model.IncidentEvent{Time: formatTime(e.TimeUnixNano), Kind: e.Kind, Text: e.Text, Actor: strPtr(e.Actor)})
	}
	if m.Timeline == nil {
		m.Timeline = []*model.IncidentEvent{}
	}
	return m
}

// incidentChange runs a change of an incident through the detector, which
// owns open incidents.
func (r *Resolver) incidentChange(ctx context.Context, id, action string,
	change func(ctx context.Context, tenant, id, actor string) (*storage.Incident, error)) (*model.Incident, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if r.Detection == nil {
		return nil, userErr("incidents are changed where detection runs (--role all or writer); this process does not run it")
	}
	in, err := change(ctx, t, id, actor(ctx))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, userErr("incident %q not found", id)
	case errors.Is(err, detection.ErrTransition):
		return nil, asUser(err)
	case err != nil:
		return nil, err
	}
	r.Audit(ctx, "incident."+action, id, "ok", in.Status)
	return incidentModel(in), nil
}

// incidentAnomalies lists an incident's anomalies from the store.
func (r *Resolver) incidentAnomalies(ctx context.Context, in *model.Incident) ([]*model.Anomaly, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := r.IncidentStore.Incident(ctx, t, in.ID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return []*model.Anomaly{}, nil
		}
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range stored.AnomalyIDs {
		want[id] = true
	}
	end := stored.ResolvedNano
	if end == 0 {
		end = r.now().UnixNano()
	}
	as, err := r.IncidentStore.Anomalies(ctx, t, storage.TimeRange{Start: stored.OpenedNano - 1, End: end + 1}, "", storage.MaxPageSize)
	if err != nil {
		return nil, err
	}
	out := []*model.Anomaly{}
	for i := range as {
		if want[as[i].ID] {
			out = append(out, anomalyModel(&as[i]))
		}
	}
	return out, nil
}

func ruleModel(r *storage.Rule) *model.Rule {
	m := &model.Rule{ID: r.ID, Name: r.Name, Kind: model.RuleKindThreshold, Service: r.Service, Operation: strPtr(r.Operation),
		CreatedBy: r.CreatedBy, CreatedAt: formatTime(r.CreatedNano)}
	if r.Kind == storage.RuleSLO {
		m.Kind = model.RuleKindSlo
		o := r.Objective
		m.Objective = &o
		return m
	}
	v := r.Value
	m.Signal, m.Op, m.Value = strPtr(r.Signal), strPtr(r.Op), &v
	if r.ForNano > 0 {
		f := time.Duration(r.ForNano).String()
		m.For = &f
	}
	return m
}

// ruleFromInput turns the input into a rule of the caller's tenant.
func ruleFromInput(ctx context.Context, tenant string, in model.RuleInput) (storage.Rule, error) {
	r := storage.Rule{Tenant: tenant, Name: in.Name, Kind: storage.RuleThreshold, Service: in.Service, Operation: deref(in.Operation),
		Signal: deref(in.Signal), Op: deref(in.Op), CreatedBy: actor(ctx)}
	if in.Kind == model.RuleKindSlo {
		r.Kind = storage.RuleSLO
	}
	if in.Value != nil {
		r.Value = *in.Value
	}
	if in.Objective != nil {
		r.Objective = *in.Objective
	}
	if in.For != nil && *in.For != "" {
		d, err := storage.ParseDuration(*in.For)
		if err != nil || d < 0 {
			return r, userErr("for %q: want a duration such as 1m", *in.For)
		}
		r.ForNano = int64(d)
	}
	return r, nil
}

// stream relays the detector's updates of the caller's tenant that pick
// keeps, until the subscription ends.
func stream[T any](ctx context.Context, r *Resolver, what string, pick func(detection.Update) (T, bool)) (<-chan T, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if r.Detection == nil {
		return nil, userErr("%s stream where detection runs (--role all or writer)", what)
	}
	in := r.Detection.Broker().Subscribe(ctx, t)
	out := make(chan T, 16)
	go func() {
		defer close(out)
		for u := range in {
			v, ok := pick(u)
			if !ok {
				continue
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

package resolvers

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/service"
)

func rangeIn(in *model.TimeRangeInput) service.Range {
	if in == nil {
		return service.Range{}
	}
	return service.Range{From: in.From.Format(time.RFC3339Nano), To: in.To.Format(time.RFC3339Nano)}
}

// rangePtr keeps a missing range missing, for the service to refuse.
func rangePtr(in *model.TimeRangeInput) *service.Range {
	if in == nil {
		return nil
	}
	r := rangeIn(in)
	return &r
}

var filterOps = map[model.FilterOp]domain.Op{
	model.FilterOpEq: domain.OpEq, model.FilterOpNe: domain.OpNe,
	model.FilterOpGt: domain.OpGt, model.FilterOpGe: domain.OpGe, model.FilterOpLt: domain.OpLt, model.FilterOpLe: domain.OpLe,
	model.FilterOpIn: domain.OpIn, model.FilterOpNotIn: domain.OpNotIn,
	model.FilterOpContains: domain.OpContains, model.FilterOpNotContains: domain.OpNotContains,
	model.FilterOpExists: domain.OpExists, model.FilterOpNotExists: domain.OpNotExists,
}

func filtersIn(in []*model.FilterInput) []service.Filter {
	out := make([]service.Filter, len(in))
	for i, f := range in {
		out[i] = service.Filter{Field: f.Field, Op: filterOps[f.Op], Value: f.Value, Values: f.Values}
	}
	return out
}

func aggregateIn(in model.AggregateInput) service.AggregateInput {
	out := service.AggregateInput{Range: rangeIn(in.Range), Filters: filtersIn(in.Filters), GroupBy: in.GroupBy,
		Bucket: deref(in.Bucket), Limit: in.Limit}
	for _, a := range in.Aggregations {
		out.Aggregations = append(out.Aggregations, service.Aggregation{Op: domain.AggOp(strings.ToLower(string(a.Op))), Field: a.Field, Alias: a.Alias})
	}
	for _, o := range in.OrderBy {
		out.OrderBy = append(out.OrderBy, domain.Order{By: o.By, Desc: o.Desc != nil && *o.Desc})
	}
	for _, h := range in.Having {
		out.Having = append(out.Having, domain.Having{Aggregation: h.Aggregation, Op: filterOps[h.Op], Value: h.Value})
	}
	return out
}

var matchOps = map[model.MatchOp]domain.MatchOp{
	model.MatchOpEq: domain.MatchEq, model.MatchOpNe: domain.MatchNe, model.MatchOpRe: domain.MatchRe, model.MatchOpNre: domain.MatchNotRe,
}

func metricIn(in model.MetricQueryInput) service.MetricInput {
	out := service.MetricInput{Name: deref(in.Name), Range: rangeIn(in.Range), Step: deref(in.Step), GroupBy: in.GroupBy,
		Aggregate: in.Aggregate != nil && *in.Aggregate, Limit: in.Limit}
	for _, m := range in.Matchers {
		op := domain.MatchEq
		if m.Op != nil {
			op = matchOps[*m.Op]
		}
		out.Matchers = append(out.Matchers, domain.LabelMatcher{Name: m.Name, Op: op, Value: m.Value})
	}
	if in.Function != nil {
		out.Function = domain.MetricFunc(strings.ToLower(string(*in.Function)))
	}
	if in.GroupFunction != nil {
		out.Group = domain.GroupFunc(strings.ToLower(string(*in.GroupFunction)))
	}
	return out
}

func ruleIn(in model.RuleInput) service.RuleInput {
	out := service.RuleInput{Name: in.Name, Kind: domain.RuleThreshold, Service: in.Service, Operation: deref(in.Operation),
		Signal: deref(in.Signal), Op: deref(in.Op), For: deref(in.For)}
	if in.Kind == model.RuleKindSlo {
		out.Kind = domain.RuleSLO
	}
	if in.Value != nil {
		out.Value = *in.Value
	}
	if in.Objective != nil {
		out.Objective = *in.Objective
	}
	return out
}

func roleIn(r model.Role) auth.Role { return auth.Role(strings.ToLower(string(r))) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// at is a stored time for the Time scalar; atPtr is nil for 0 (never).
func at(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func atPtr(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := at(ns)
	return &t
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Cursors are opaque to clients: base64 of "<ts>:<id>".
func encodeCursor(c *domain.Cursor) *string {
	if c == nil {
		return nil
	}
	s := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:%x", c.TimeUnixNano, c.ID)))
	return &s
}

func decodeCursor(s *string) (*domain.Cursor, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*s)
	if err != nil {
		return nil, service.Invalid("after: not a cursor returned by this API")
	}
	var c domain.Cursor
	if _, err := fmt.Sscanf(string(raw), "%d:%x", &c.TimeUnixNano, &c.ID); err != nil {
		return nil, service.Invalid("after: not a cursor returned by this API")
	}
	return &c, nil
}

func attrs(a domain.Attrs) []*model.Attribute {
	out := make([]*model.Attribute, len(a.Keys))
	for i := range a.Keys {
		out[i] = &model.Attribute{Key: a.Keys[i], Value: a.Values[i]}
	}
	return out
}

func deadLetterModel(d *domain.DeadLetter) *model.DeadLetter {
	preview := d.Payload
	if len(preview) > 1024 {
		preview = preview[:1024]
	}
	text := string(preview)
	if !utf8.Valid(preview) {
		text = fmt.Sprintf("%d bytes of binary data: %x", len(d.Payload), preview[:min(len(preview), 64)])
	}
	return &model.DeadLetter{
		ID: d.ID, ReceivedAt: at(d.TimeUnixNano), Source: d.Source, Format: d.Format, Reason: d.Reason,
		PayloadSize: len(d.Payload), PayloadPreview: text, PayloadBase64: base64.StdEncoding.EncodeToString(d.Payload),
		ReplayedAt: atPtr(d.ReplayedAtNano),
	}
}

func apiKeyModel(k *domain.APIKey) *model.APIKey {
	return &model.APIKey{ID: k.ID, Name: k.Name, Role: model.Role(strings.ToUpper(k.Role)), CreatedBy: k.CreatedBy,
		CreatedAt: at(k.CreatedAtNano), LastUsedAt: atPtr(k.LastUsedAtNano), RevokedAt: atPtr(k.RevokedAtNano)}
}

func auditModel(e *domain.AuditEntry) *model.AuditEntry {
	return &model.AuditEntry{ID: e.ID, Time: at(e.TimeUnixNano), Actor: e.Actor, Action: e.Action,
		Target: e.Target, Outcome: e.Outcome, Detail: e.Detail}
}

// list converts a slice with conv; never nil, as GraphQL lists are not.
func list[T, M any](in []T, conv func(*T) M) []M {
	out := make([]M, len(in))
	for i := range in {
		out[i] = conv(&in[i])
	}
	return out
}

func bubbleUpIn(in model.BubbleUpInput) service.BubbleUpInput {
	return service.BubbleUpInput{Range: rangeIn(in.Range), Filters: filtersIn(in.Filters), Selection: filtersIn(in.Selection),
		Baseline: rangePtr(in.Baseline), Limit: in.Limit, Values: in.Values}
}

package resolvers

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/storage"
)

func (r *Resolver) timeRange(in *model.TimeRangeInput) (storage.TimeRange, error) {
	if in == nil {
		return storage.TimeRange{}, userErr("range is required")
	}
	tr, err := storage.ParseTimeRange(in.From, in.To, r.now())
	if err != nil {
		return tr, userErr("range: %v", err)
	}
	if r.MaxRange > 0 && tr.End-tr.Start > int64(r.MaxRange) {
		return tr, userErr("range: %s is longer than the limit of %s", time.Duration(tr.End-tr.Start), r.MaxRange)
	}
	return tr, nil
}

// scope is what most read fields start with: the caller's tenant and the
// time range asked for.
func (r *Resolver) scope(ctx context.Context, in *model.TimeRangeInput) (string, storage.TimeRange, error) {
	t, err := tenant(ctx)
	if err != nil {
		return "", storage.TimeRange{}, err
	}
	tr, err := r.timeRange(in)
	return t, tr, err
}

// pageSize reads an optional page-size argument: def when absent, an error
// naming the argument outside 1..MaxPageSize.
func pageSize(arg string, v *int, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v <= 0 || *v > storage.MaxPageSize {
		return 0, userErr("%s must be between 1 and %d", arg, storage.MaxPageSize)
	}
	return *v, nil
}

var filterOps = map[model.FilterOp]storage.Op{
	model.FilterOpEq: storage.OpEq, model.FilterOpNe: storage.OpNe,
	model.FilterOpGt: storage.OpGt, model.FilterOpGe: storage.OpGe, model.FilterOpLt: storage.OpLt, model.FilterOpLe: storage.OpLe,
	model.FilterOpIn: storage.OpIn, model.FilterOpNotIn: storage.OpNotIn,
	model.FilterOpContains: storage.OpContains, model.FilterOpNotContains: storage.OpNotContains,
	model.FilterOpExists: storage.OpExists, model.FilterOpNotExists: storage.OpNotExists,
}

// Filters turns GraphQL filters into storage filters, refusing bad ones.
func Filters(in []*model.FilterInput) ([]storage.Filter, error) {
	out := make([]storage.Filter, 0, len(in))
	for _, f := range in {
		fld, err := storage.ParseField(f.Field)
		if err != nil {
			return nil, asUser(err)
		}
		sf := storage.Filter{Field: fld, Op: filterOps[f.Op], Values: f.Values}
		if f.Value != nil {
			sf.Value = *f.Value
		}
		needsValue := sf.Op != storage.OpExists && sf.Op != storage.OpNotExists && sf.Op != storage.OpIn && sf.Op != storage.OpNotIn
		if needsValue && f.Value == nil {
			return nil, userErr("filter %s %s: value is required", f.Field, f.Op)
		}
		if err := sf.Validate(); err != nil {
			return nil, asUser(err)
		}
		out = append(out, sf)
	}
	return out, nil
}

func (r *Resolver) aggregateQuery(tenantID string, in model.AggregateInput) (storage.Query, error) {
	q := storage.Query{Tenant: tenantID}
	var err error
	if q.Range, err = r.timeRange(in.Range); err != nil {
		return q, err
	}
	if q.Filters, err = Filters(in.Filters); err != nil {
		return q, err
	}
	for _, g := range in.GroupBy {
		f, err := storage.ParseField(g)
		if err != nil {
			return q, asUser(fmt.Errorf("groupBy: %w", err))
		}
		q.GroupBy = append(q.GroupBy, f)
	}
	for _, a := range in.Aggregations {
		agg := storage.Aggregation{Op: storage.AggOp(strings.ToLower(string(a.Op)))}
		if a.Field != nil {
			f, err := storage.ParseField(*a.Field)
			if err != nil {
				return q, asUser(fmt.Errorf("aggregation %s: %w", a.Op, err))
			}
			agg.Field = &f
		}
		if a.Alias != nil {
			agg.Alias = *a.Alias
		}
		q.Aggregations = append(q.Aggregations, agg)
	}
	if in.Bucket != nil && *in.Bucket != "" {
		d, err := storage.ParseDuration(*in.Bucket)
		if err != nil || d <= 0 {
			return q, userErr("bucket %q: want a duration such as 10s, 1m or 1h", *in.Bucket)
		}
		q.Bucket = d
	}
	for _, o := range in.OrderBy {
		q.Order = append(q.Order, storage.Order{By: o.By, Desc: o.Desc != nil && *o.Desc})
	}
	if in.Limit != nil {
		if *in.Limit < 0 {
			return q, userErr("limit must not be negative")
		}
		q.Limit = *in.Limit
	}
	for _, h := range in.Having {
		q.Having = append(q.Having, storage.Having{Aggregation: h.Aggregation, Op: filterOps[h.Op], Value: h.Value})
	}
	if err := q.Validate(); err != nil {
		return q, asUser(err)
	}
	return q, nil
}

func formatTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func attrs(a storage.Attrs) []*model.Attribute {
	out := make([]*model.Attribute, len(a.Keys))
	for i := range a.Keys {
		out[i] = &model.Attribute{Key: a.Keys[i], Value: a.Values[i]}
	}
	return out
}

// EventModel converts a stored event for GraphQL.
func EventModel(e *storage.Event) *model.Event {
	m := &model.Event{
		ID:           strconv.FormatUint(e.ID, 16),
		Timestamp:    formatTime(e.TimeUnixNano),
		TimeUnixNano: e.TimeUnixNano,
		Kind:         string(e.Kind),
		Service:      e.Service,
		Name:         e.Name,
		TraceID:      strPtr(e.TraceID),
		SpanID:       strPtr(e.SpanID),
		ParentSpanID: strPtr(e.ParentSpanID),
		Status:       string(e.Status),
		Severity:     strPtr(e.Severity),
		Body:         strPtr(e.Body),
		Attributes:   attrs(e.Attrs),
		Resource:     attrs(e.Resource),
		SampleRate:   e.SampleRate,
	}
	if e.Kind == storage.KindSpan {
		d := float64(e.DurationNano) / 1e6
		m.DurationMs = &d
	}
	return m
}

// Cursors are opaque to clients: base64 of "<ts>:<id>".
func encodeCursor(c *storage.Cursor) *string {
	if c == nil {
		return nil
	}
	s := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:%x", c.TimeUnixNano, c.ID)))
	return &s
}

func decodeCursor(s string) (*storage.Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, userErr("after: not a cursor returned by this API")
	}
	var c storage.Cursor
	if _, err := fmt.Sscanf(string(raw), "%d:%x", &c.TimeUnixNano, &c.ID); err != nil {
		return nil, userErr("after: not a cursor returned by this API")
	}
	return &c, nil
}

// aggregateModel shapes an aggregate for GraphQL. A bucket that began
// before the range or ends after its end or now is marked partial: the
// bucket filling now is shown, and a chart can draw it as unfinished.
func aggregateModel(q storage.Query, res *storage.AggregateResult, now time.Time) *model.AggregateResult {
	out := &model.AggregateResult{GroupBy: res.GroupBy, Columns: res.Columns, Groups: []*model.AggregateGroup{}}
	if q.Bucket == 0 {
		for _, row := range res.Rows {
			out.Groups = append(out.Groups, &model.AggregateGroup{Key: row.Keys, Values: row.Values, Series: []*model.BucketPoint{}})
		}
		return out
	}
	secs := q.Bucket.Seconds()
	out.BucketSeconds = &secs
	// Rows arrive grouped (by rank) and in time order within a group.
	var cur *model.AggregateGroup
	var curKey string
	for _, row := range res.Rows {
		k := keyString(row.Keys)
		if cur == nil || k != curKey {
			cur = &model.AggregateGroup{Key: row.Keys, Series: []*model.BucketPoint{}}
			out.Groups = append(out.Groups, cur)
			curKey = k
		}
		partial := row.Bucket < q.Range.Start || row.Bucket+int64(q.Bucket) > min(q.Range.End, now.UnixNano())
		cur.Series = append(cur.Series, &model.BucketPoint{Time: formatTime(row.Bucket), TimeUnixNano: row.Bucket, Values: row.Values, Partial: partial})
	}
	return out
}

func keyString(keys []*string) string {
	var b strings.Builder
	for _, k := range keys {
		if k == nil {
			b.WriteString("\x00nil")
		} else {
			b.WriteString(*k)
		}
		b.WriteByte(0xff)
	}
	return b.String()
}

func deadLetterModel(d *storage.DeadLetter) *model.DeadLetter {
	preview := d.Payload
	if len(preview) > 1024 {
		preview = preview[:1024]
	}
	text := string(preview)
	if !utf8.Valid(preview) {
		text = fmt.Sprintf("%d bytes of binary data: %x", len(d.Payload), preview[:min(len(preview), 64)])
	}
	m := &model.DeadLetter{
		ID: d.ID, ReceivedAt: formatTime(d.TimeUnixNano), Source: d.Source, Format: d.Format, Reason: d.Reason,
		PayloadSize: len(d.Payload), PayloadPreview: text, PayloadBase64: base64.StdEncoding.EncodeToString(d.Payload),
	}
	if d.ReplayedAtNano != 0 {
		s := formatTime(d.ReplayedAtNano)
		m.ReplayedAt = &s
	}
	return m
}

func apiKeyModel(k *storage.APIKey) *model.APIKey {
	m := &model.APIKey{ID: k.ID, Name: k.Name, Role: model.Role(strings.ToUpper(k.Role)), CreatedBy: k.CreatedBy,
		CreatedAt: formatTime(k.CreatedAtNano)}
	if k.LastUsedAtNano != 0 {
		s := formatTime(k.LastUsedAtNano)
		m.LastUsedAt = &s
	}
	if k.RevokedAtNano != 0 {
		s := formatTime(k.RevokedAtNano)
		m.RevokedAt = &s
	}
	return m
}

package resolvers

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/service"
)

// eventModel converts a stored event for GraphQL.
func eventModel(e *domain.Event) *model.Event {
	m := &model.Event{
		ID:           strconv.FormatUint(e.ID, 16),
		Timestamp:    at(e.TimeUnixNano),
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
	if e.Kind == domain.KindSpan {
		d := float64(e.DurationNano) / 1e6
		m.DurationMs = &d
	}
	return m
}

// aggregateModel shapes an aggregate for GraphQL. A bucket that began
// before the range or ends after its end or now is marked partial: the
// bucket filling now is shown, and a chart can draw it as unfinished.
func aggregateModel(a *service.Aggregate, now time.Time) *model.AggregateResult {
	q, res := a.Query, a.Result
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
		cur.Series = append(cur.Series, &model.BucketPoint{Time: at(row.Bucket), TimeUnixNano: row.Bucket, Values: row.Values, Partial: partial})
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

func traceSummaryModel(t *domain.TraceSummary) *model.TraceSummary {
	return &model.TraceSummary{TraceID: t.TraceID, StartTime: at(t.StartNano), DurationMs: float64(t.DurationNano) / 1e6,
		Services: append([]string{}, t.Services...), SpanCount: t.Spans, ErrorCount: t.Errors, RootService: t.RootService, RootName: t.RootName}
}

func traceModel(t *service.Trace) *model.Trace {
	m := &model.Trace{TraceID: t.ID, StartTime: at(t.StartNano), DurationMs: float64(t.DurationNs) / 1e6,
		Services: t.Services, SpanCount: len(t.Spans), ErrorCount: t.ErrorCount}
	if t.Root != nil {
		m.RootService, m.RootName = &t.Root.Service, &t.Root.Name
	}
	for _, s := range t.Spans {
		m.Spans = append(m.Spans, &model.TraceSpan{Span: eventModel(s.Span), Depth: s.Depth, OffsetMs: float64(s.OffsetNano) / 1e6})
	}
	return m
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func serviceModel(s *domain.ServiceSummary) *model.ServiceSummary {
	rate := 0.0
	if s.Seconds > 0 {
		rate = s.SpanCount / s.Seconds
	}
	return &model.ServiceSummary{Name: s.Name, SpanCount: int(s.SpanCount + 0.5), ErrorCount: int(s.ErrorCount + 0.5),
		ErrorRate: ratio(s.ErrorCount, s.SpanCount), RequestRate: rate, P50Ms: s.P50Ms, P99Ms: s.P99Ms}
}

func serviceMapModel(sm *service.ServiceMap) *model.ServiceMap {
	out := &model.ServiceMap{Nodes: make([]*model.ServiceSummary, len(sm.Nodes)), Edges: make([]*model.ServiceEdge, len(sm.Edges))}
	for i, n := range sm.Nodes {
		out.Nodes[i] = serviceModel(&n.ServiceSummary)
		out.Nodes[i].External = n.External
	}
	for i, e := range sm.Edges {
		out.Edges[i] = &model.ServiceEdge{Source: e.Source, Target: e.Target, Calls: int(e.Calls + 0.5), Errors: int(e.Errors + 0.5),
			ErrorRate: ratio(e.Errors, e.Calls), P99Ms: e.P99Ms}
	}
	return out
}

func metricSeriesModel(s *domain.MetricSeries) *model.MetricSeries {
	m := &model.MetricSeries{Name: s.Name, Labels: attrs(s.Labels), Type: strPtr(string(s.Type)), Points: make([]*model.MetricPoint, len(s.Points))}
	for j, p := range s.Points {
		m.Points[j] = &model.MetricPoint{Time: at(p.TimeUnixNano), TimeUnixNano: p.TimeUnixNano, Value: p.Value, Partial: p.Partial}
	}
	return m
}

func anomalyModel(a *domain.Anomaly) *model.Anomaly {
	return &model.Anomaly{ID: a.ID, Series: a.Series, Service: a.Service, Operation: strPtr(a.Operation), Signal: model.Signal(a.Signal),
		Start: at(a.StartNano), End: atPtr(a.EndNano), Severity: model.Severity(a.Severity), Score: a.Score, Expected: a.Expected,
		Observed: a.Observed, Lower: a.Lower, Upper: a.Upper, Detector: a.Detector, Explanation: a.Explanation, IncidentID: strPtr(a.IncidentID),
		IncidentWorthy: a.IncidentWorthy()}
}

func incidentModel(in *domain.Incident) *model.Incident {
	m := &model.Incident{ID: in.ID, Title: in.Title, Severity: model.Severity(in.Severity), Status: model.IncidentStatus(in.Status),
		Services: append([]string{}, in.Services...), OpenedAt: at(in.OpenedNano), UpdatedAt: at(in.UpdatedNano),
		ResolvedAt: atPtr(in.ResolvedNano), AcknowledgedBy: strPtr(in.AcknowledgedBy), Timeline: []*model.IncidentEvent{}}
	for _, e := range in.Timeline {
		m.Timeline = append(m.Timeline, &model.IncidentEvent{Time: at(e.TimeUnixNano), Kind: model.TimelineKind(e.Kind), Text: e.Text, Actor: strPtr(e.Actor)})
	}
	return m
}

func ruleModel(r *domain.Rule) *model.Rule {
	m := &model.Rule{ID: r.ID, Name: r.Name, Kind: model.RuleKindThreshold, Service: r.Service, Operation: strPtr(r.Operation),
		CreatedBy: r.CreatedBy, CreatedAt: at(r.CreatedNano)}
	if r.Kind == domain.RuleSLO {
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

func usageModel(h *domain.UsageHour) *model.UsageHour {
	return &model.UsageHour{Tenant: h.Tenant, Hour: at(h.HourNano), Events: h.Events, Bytes: h.Bytes, Queries: h.Queries}
}

// relay converts a service stream for a subscription until it closes or
// the subscription ends.
func relay[T, M any](ctx context.Context, in <-chan T, conv func(*T) M) <-chan M {
	out := make(chan M, 16)
	go func() {
		defer close(out)
		for v := range in {
			select {
			case out <- conv(&v):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func bubbleUpModel(r *domain.BubbleUpResult) *model.BubbleUp {
	m := &model.BubbleUp{Selection: r.Selection, Baseline: r.Baseline, Fields: []*model.BubbleUpField{}}
	for _, f := range r.Fields {
		mf := &model.BubbleUpField{Field: f.Field, Score: f.Score, Values: []*model.BubbleUpValue{}}
		for _, v := range f.Values {
			mf.Values = append(mf.Values, &model.BubbleUpValue{Value: v.Value, Selection: v.Selection, Baseline: v.Baseline,
				SelectionShare: v.SelectionShare, BaselineShare: v.BaselineShare})
		}
		m.Fields = append(m.Fields, mf)
	}
	return m
}

func pipelineModel(st *service.PipelineStatus) *model.PipelineStatus {
	counts := func(cs []service.Count) []*model.PipelineCount {
		out := []*model.PipelineCount{}
		for _, c := range cs {
			out = append(out, &model.PipelineCount{Key: c.Key, Value: c.Value})
		}
		return out
	}
	return &model.PipelineStatus{At: st.At, Records: counts(st.Records), Payloads: counts(st.Payloads), QueueRecords: st.QueueRecords,
		WalSegments: st.WALSegments, WalBytes: st.WALBytes, Rows: counts(st.Rows), Flushes: st.Flushes, FlushSeconds: st.FlushSeconds,
		LostRecords: st.Lost, RefusedRecords: st.Refused, DeadLettersDropped: st.DeadLettersDropped, KafkaLag: st.KafkaLag,
		MemoryUsedBytes: st.MemoryUsedBytes, MemoryLimitBytes: st.MemoryLimitBytes}
}

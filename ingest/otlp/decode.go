// Package otlp turns OTLP traces, logs and metrics (protobuf or JSON, as
// pdata decodes them) into Inquest events and samples.
package otlp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/inquest/inquest/domain"
)

// UnknownService is what OpenTelemetry SDKs report when service.name is
// not set.
const UnknownService = "unknown_service"

// putValue stores one attribute: numbers natively (and as text), bools and
// strings as text, bytes as base64, arrays and maps as JSON.
func putValue(w *domain.AttrWriter, k string, v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		w.Put(k, v.Str())
	case pcommon.ValueTypeInt:
		if w.Numeric() {
			w.PutNum(k, float64(v.Int()))
		} else {
			w.Put(k, v.AsString())
		}
	case pcommon.ValueTypeDouble:
		if w.Numeric() {
			w.PutNum(k, v.Double())
		} else {
			w.Put(k, v.AsString())
		}
	case pcommon.ValueTypeBool:
		w.Put(k, v.AsString())
	case pcommon.ValueTypeBytes:
		w.Put(k, base64.StdEncoding.EncodeToString(v.Bytes().AsRaw()))
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		b, err := json.Marshal(v.AsRaw())
		if err == nil {
			w.Put(k, string(b))
		}
	}
}

// putAttrs adds a map's attributes to one of e's lists, in linear time
// however many there are.
func putAttrs(e *domain.Event, attrs *domain.Attrs, m pcommon.Map) {
	w := e.AttrWriter(attrs)
	for k, v := range m.All() {
		putValue(w, k, v)
	}
}

func serviceOf(res pcommon.Resource) string {
	if v, ok := res.Attributes().Get("service.name"); ok && v.AsString() != "" {
		return v.AsString()
	}
	return UnknownService
}

// sampleRate reads the Honeycomb-style sample_rate attribute (1 in N).
func sampleRate(e *domain.Event) {
	e.SampleRate = 1
	if v, ok := e.NumAttrs.Get("sample_rate"); ok {
		e.SampleRate = v
	} else if v, ok := e.NumAttrs.Get("SampleRate"); ok {
		e.SampleRate = v
	}
}

func hexID(b []byte, empty bool) string {
	if empty {
		return ""
	}
	return fmt.Sprintf("%x", b)
}

var spanKinds = map[ptrace.SpanKind]string{
	ptrace.SpanKindServer: "server", ptrace.SpanKindClient: "client", ptrace.SpanKindProducer: "producer",
	ptrace.SpanKindConsumer: "consumer", ptrace.SpanKindInternal: "internal",
}

// Traces converts spans; each span event (an exception, say) becomes a log
// event linked to its span, so that it can be searched like any log.
func Traces(td ptrace.Traces) []domain.Event {
	out := make([]domain.Event, 0, td.SpanCount())
	for _, rs := range td.ResourceSpans().All() {
		var res domain.Attrs
		putAttrs(nil, &res, rs.Resource().Attributes())
		service := serviceOf(rs.Resource())
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				tid, sid, pid := sp.TraceID(), sp.SpanID(), sp.ParentSpanID()
				e := domain.Event{
					TimeUnixNano: int64(sp.StartTimestamp()),
					Kind:         domain.KindSpan,
					Service:      service,
					Name:         sp.Name(),
					TraceID:      hexID(tid[:], tid.IsEmpty()),
					SpanID:       hexID(sid[:], sid.IsEmpty()),
					ParentSpanID: hexID(pid[:], pid.IsEmpty()),
					DurationNano: int64(sp.EndTimestamp()) - int64(sp.StartTimestamp()),
					Resource:     res,
				}
				switch sp.Status().Code() {
				case ptrace.StatusCodeError:
					e.Status = domain.StatusError
				case ptrace.StatusCodeOk:
					e.Status = domain.StatusOK
				default:
					e.Status = domain.StatusUnset
				}
				e.Body = sp.Status().Message()
				if k, ok := spanKinds[sp.Kind()]; ok {
					e.Attrs.Put("span.kind", k)
				}
				putAttrs(&e, &e.Attrs, sp.Attributes())
				sampleRate(&e)
				out = append(out, e)
				for _, ev := range sp.Events().All() {
					l := domain.Event{
						TimeUnixNano: int64(ev.Timestamp()),
						Kind:         domain.KindLog,
						Service:      service,
						Name:         ev.Name(),
						TraceID:      e.TraceID,
						SpanID:       e.SpanID,
						Status:       domain.StatusUnset,
						Resource:     res,
					}
					putAttrs(&l, &l.Attrs, ev.Attributes())
					if msg, ok := l.Attrs.Get("exception.message"); ok {
						l.Body = msg
						l.Severity = "ERROR"
						l.Status = domain.StatusError
					}
					l.SampleRate = e.SampleRate
					out = append(out, l)
				}
			}
		}
	}
	return out
}

// Logs converts log records. A record's name is its event name when it has
// one, else "log"; severities of ERROR and above mark it as an error.
func Logs(ld plog.Logs) []domain.Event {
	out := make([]domain.Event, 0, ld.LogRecordCount())
	for _, rl := range ld.ResourceLogs().All() {
		var res domain.Attrs
		putAttrs(nil, &res, rl.Resource().Attributes())
		service := serviceOf(rl.Resource())
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				ts := lr.Timestamp()
				if ts == 0 {
					ts = lr.ObservedTimestamp()
				}
				tid, sid := lr.TraceID(), lr.SpanID()
				e := domain.Event{
					TimeUnixNano: int64(ts),
					Kind:         domain.KindLog,
					Service:      service,
					Name:         lr.EventName(),
					TraceID:      hexID(tid[:], tid.IsEmpty()),
					SpanID:       hexID(sid[:], sid.IsEmpty()),
					Severity:     lr.SeverityText(),
					Body:         lr.Body().AsString(),
					Status:       domain.StatusUnset,
					Resource:     res,
				}
				if e.Severity == "" && lr.SeverityNumber() != plog.SeverityNumberUnspecified {
					e.Severity = strings.ToUpper(lr.SeverityNumber().String()) // the spec's short name: ERROR2
				}
				if lr.SeverityNumber() >= plog.SeverityNumberError {
					e.Status = domain.StatusError
				}
				putAttrs(&e, &e.Attrs, lr.Attributes())
				if e.Name == "" {
					if n, ok := e.Attrs.Get("event.name"); ok {
						e.Name = n
					} else {
						e.Name = "log"
					}
				}
				sampleRate(&e)
				out = append(out, e)
			}
		}
	}
	return out
}

func labels(job, instance string, attrs pcommon.Map, extra ...string) domain.Attrs {
	var a domain.Attrs
	if job != "" {
		a.Append("job", job)
	}
	if instance != "" {
		a.Append("instance", instance)
	}
	for k, v := range attrs.All() {
		a.Append(k, v.AsString())
	}
	for i := 0; i+1 < len(extra); i += 2 {
		a.Append(extra[i], extra[i+1])
	}
	a.SortUnique() // later pairs win, as Put one by one did
	return a
}

// promotedAttributes are the default resource attributes that become labels of
// every series of their resource, as Prometheus' OTLP receiver promotes
// them: without them every pod of a service is one series, and versions
// or nodes cannot be compared. The other resource attributes go on the
// resource's target_info series.
func promotedAttributes() []string {
	return []string{"k8s.pod.name", "k8s.node.name", "k8s.namespace.name", "service.version", "host.name"}
}

// DefaultPromoted is the resource attributes that label metric series
// unless configured otherwise (--metric-resource-attribute).
func DefaultPromoted() []string { return promotedAttributes() }

// targetInfo is the series that carries a resource's attributes, one per
// resource and batch, value 1 (Prometheus' name for it).
const targetInfo = "target_info"

// Metrics converts metric points to samples the Prometheus way: histograms
// become _count, _sum and cumulative _bucket{le} series, summaries become
// quantile series plus _count and _sum. Delta sums are kept as gauges of
// their increments (rate() over them is not meaningful). Each series is
// labelled job (service.name), instance (service.instance.id) and the
// promoted attributes its resource has (k8s.pod.name, k8s.node.name,
// k8s.namespace.name, service.version, host.name); each resource with other attributes
// also gets a target_info sample holding them.
func Metrics(md pmetric.Metrics) []domain.Sample { return MetricsWith(md, promotedAttributes()) }

// MetricsWith is Metrics with the resource attributes to promote given.
func MetricsWith(md pmetric.Metrics, promote []string) []domain.Sample {
	var out []domain.Sample
	for _, rm := range md.ResourceMetrics().All() {
		job := serviceOf(rm.Resource())
		instance := ""
		attrs := rm.Resource().Attributes()
		if v, ok := attrs.Get("service.instance.id"); ok {
			instance = v.AsString()
		}
		var promoted []string
		for _, k := range promote {
			if v, ok := attrs.Get(k); ok && v.AsString() != "" {
				promoted = append(promoted, k, v.AsString())
			}
		}
		first := len(out)
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				out = appendMetric(out, m, job, instance, promoted)
			}
		}
		if len(out) > first {
			out = appendTargetInfo(out, out[first:], attrs, job, instance)
		}
	}
	for i := range out {
		out[i].SeriesID = out[i].ComputeSeriesID()
	}
	return out
}

// appendTargetInfo adds a resource's target_info sample, at the newest
// time of its samples, when it has attributes beyond the ones its series
// carry already.
func appendTargetInfo(out, samples []domain.Sample, attrs pcommon.Map, job, instance string) []domain.Sample {
	var ls domain.Attrs
	if job != "" {
		ls.Put("job", job)
	}
	if instance != "" {
		ls.Put("instance", instance)
	}
	n := 0
	for k, v := range attrs.All() {
		if k == "service.name" || k == "service.instance.id" {
			continue
		}
		ls.Put(k, v.AsString())
		n++
	}
	if n == 0 {
		return out
	}
	ls.Sort()
	var ts int64
	for _, s := range samples {
		ts = max(ts, s.TimeUnixNano)
	}
	return append(out, domain.Sample{Name: targetInfo, Labels: ls, Type: domain.MetricGauge, TimeUnixNano: ts, Value: 1})
}

func appendMetric(out []domain.Sample, m pmetric.Metric, job, instance string, promoted []string) []domain.Sample {
	labels := func(job, instance string, attrs pcommon.Map, extra ...string) domain.Attrs {
		return labels(job, instance, attrs, append(extra, promoted...)...)
	}
	add := func(name string, typ domain.MetricType, ts pcommon.Timestamp, v float64, ls domain.Attrs) {
		out = append(out, domain.Sample{Name: name, Labels: ls, Type: typ, TimeUnixNano: int64(ts), Value: v})
	}
	num := func(dp pmetric.NumberDataPoint) float64 {
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			return float64(dp.IntValue())
		}
		return dp.DoubleValue()
	}
	name := m.Name()
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for _, dp := range m.Gauge().DataPoints().All() {
			add(name, domain.MetricGauge, dp.Timestamp(), num(dp), labels(job, instance, dp.Attributes()))
		}
	case pmetric.MetricTypeSum:
		typ := domain.MetricGauge
		if m.Sum().IsMonotonic() && m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative {
			typ = domain.MetricCounter
		}
		for _, dp := range m.Sum().DataPoints().All() {
			add(name, typ, dp.Timestamp(), num(dp), labels(job, instance, dp.Attributes()))
		}
	case pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			add(name+"_count", domain.MetricCounter, dp.Timestamp(), float64(dp.Count()), labels(job, instance, dp.Attributes()))
			if dp.HasSum() {
				add(name+"_sum", domain.MetricCounter, dp.Timestamp(), dp.Sum(), labels(job, instance, dp.Attributes()))
			}
			var cum uint64
			bounds := dp.ExplicitBounds()
			for i, c := range dp.BucketCounts().All() {
				cum += c
				le := "+Inf"
				if i < bounds.Len() {
					le = domain.FormatNumber(bounds.At(i))
				}
				add(name+"_bucket", domain.MetricCounter, dp.Timestamp(), float64(cum), labels(job, instance, dp.Attributes(), "le", le))
			}
		}
	case pmetric.MetricTypeExponentialHistogram:
		for _, dp := range m.ExponentialHistogram().DataPoints().All() {
			add(name+"_count", domain.MetricCounter, dp.Timestamp(), float64(dp.Count()), labels(job, instance, dp.Attributes()))
			if dp.HasSum() {
				add(name+"_sum", domain.MetricCounter, dp.Timestamp(), dp.Sum(), labels(job, instance, dp.Attributes()))
			}
		}
	case pmetric.MetricTypeSummary:
		for _, dp := range m.Summary().DataPoints().All() {
			add(name+"_count", domain.MetricCounter, dp.Timestamp(), float64(dp.Count()), labels(job, instance, dp.Attributes()))
			add(name+"_sum", domain.MetricCounter, dp.Timestamp(), dp.Sum(), labels(job, instance, dp.Attributes()))
			for _, q := range dp.QuantileValues().All() {
				add(name, domain.MetricSummary, dp.Timestamp(), q.Value(), labels(job, instance, dp.Attributes(), "quantile", domain.FormatNumber(q.Quantile())))
			}
		}
	}
	return out
}

// Encoding of an OTLP/HTTP body.
type Encoding int

// Encodings.
const (
	Proto Encoding = iota
	JSON
)

func unmarshaler[T any](enc Encoding, proto, js func([]byte) (T, error)) func([]byte) (T, error) {
	if enc == JSON {
		return js
	}
	return proto
}

// DecodeTraces decodes an ExportTraceServiceRequest body.
func DecodeTraces(body []byte, enc Encoding) ([]domain.Event, error) {
	check := checkCount
	if enc == JSON {
		check = func(b []byte, what string) error { return checkJSONCount(b, what, jsonSpanKeys...) }
	}
	if err := check(body, "spans, span events and links"); err != nil {
		return nil, err
	}
	td, err := unmarshaler(enc, (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces, (&ptrace.JSONUnmarshaler{}).UnmarshalTraces)(body)
	if err != nil {
		return nil, fmt.Errorf("decode OTLP traces: %w", err)
	}
	return Traces(td), nil
}

// DecodeLogs decodes an ExportLogsServiceRequest body.
func DecodeLogs(body []byte, enc Encoding) ([]domain.Event, error) {
	check := checkCount
	if enc == JSON {
		check = func(b []byte, what string) error { return checkJSONCount(b, what, jsonLogKeys...) }
	}
	if err := check(body, "log records"); err != nil {
		return nil, err
	}
	ld, err := unmarshaler(enc, (&plog.ProtoUnmarshaler{}).UnmarshalLogs, (&plog.JSONUnmarshaler{}).UnmarshalLogs)(body)
	if err != nil {
		return nil, fmt.Errorf("decode OTLP logs: %w", err)
	}
	return Logs(ld), nil
}

// DecodeMetrics decodes an ExportMetricsServiceRequest body.
func DecodeMetrics(body []byte, enc Encoding) ([]domain.Sample, error) {
	return DecodeMetricsWith(body, enc, promotedAttributes())
}

// DecodeMetricsWith is DecodeMetrics with the resource attributes to
// promote given.
func DecodeMetricsWith(body []byte, enc Encoding, promote []string) ([]domain.Sample, error) {
	md, err := unmarshaler(enc, (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics, (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics)(body)
	if err != nil {
		return nil, fmt.Errorf("decode OTLP metrics: %w", err)
	}
	return MetricsWith(md, promote), nil
}

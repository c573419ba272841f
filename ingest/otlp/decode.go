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
	if err := CheckTraces(td); err != nil {
		return nil, err
	}
	return Traces(td), nil
}

// CheckTraces counts the records decoded traces will become (spans, their
// events and links) from the decoder's own output, before they are
// converted: the check before decoding reads the bytes by a walker of its
// own, fast but separate from the decoder, and this one agrees with what
// Traces will make by construction (it walks the same objects).
func CheckTraces(td ptrace.Traces) error {
	n := 0
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				n += 1 + sp.Events().Len() + sp.Links().Len()
			}
		}
	}
	if n > MaxRecordsPerRequest {
		return fmt.Errorf("%w: %d spans, span events and links, more than %d: send smaller batches", ErrTooManyRecords, n, MaxRecordsPerRequest)
	}
	return nil
}

// CheckLogs is CheckTraces for log records.
func CheckLogs(ld plog.Logs) error {
	if n := ld.LogRecordCount(); n > MaxRecordsPerRequest {
		return fmt.Errorf("%w: %d log records, more than %d: send smaller batches", ErrTooManyRecords, n, MaxRecordsPerRequest)
	}
	return nil
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
	if err := CheckLogs(ld); err != nil {
		return nil, err
	}
	return Logs(ld), nil
}

// DecodeMetrics decodes an ExportMetricsServiceRequest body, promoting
// the default resource attributes.
func DecodeMetrics(body []byte, enc Encoding) (*MetricsResult, error) {
	return DecodeMetricsWith(body, enc, promotedAttributes())
}

// DecodeMetricsWith is DecodeMetrics with the resource attributes to
// promote given.
func DecodeMetricsWith(body []byte, enc Encoding, promote []string) (*MetricsResult, error) {
	md, err := unmarshaler(enc, (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics, (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics)(body)
	if err != nil {
		return nil, fmt.Errorf("decode OTLP metrics: %w", err)
	}
	return MetricsWith(md, promote)
}

// Package jsonfmt reads and writes Inquest's JSON event format: one object,
// an array of objects, or newline-delimited objects. Well-known keys fill the
// event's columns; every other key becomes an attribute (nested objects are
// flattened with dots, as Honeycomb does). The same format carries refused
// records in the dead-letter queue, so that they can be replayed; numbers
// JSON cannot hold (NaN, ±Inf) travel as strings in "numeric_attributes".
package jsonfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inquest/inquest/domain"
)

// Result is what a payload decoded to.
type Result struct {
	Events   []domain.Event
	Rejected []domain.Rejected
	// InvalidUTF8 counts the records whose invalid UTF-8 the JSON decoder
	// replaced by U+FFFD (it does so without a word, so it is looked for
	// in the raw record).
	InvalidUTF8 int
}

// Decode reads events. Records that are not objects or whose fields have
// the wrong type are rejected one by one; a syntax error stops the decode
// but keeps what came before it. now fills a missing timestamp.
func Decode(body []byte, now time.Time) (*Result, error) {
	res := &Result{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	first := true
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("decode JSON events at byte %d: %w", dec.InputOffset(), err)
		}
		trimmed := bytes.TrimSpace(raw)
		if first && len(trimmed) > 0 && trimmed[0] == '[' {
			var items []json.RawMessage
			if err := json.Unmarshal(trimmed, &items); err != nil {
				return res, fmt.Errorf("decode JSON events: %w", err)
			}
			for _, it := range items {
				res.add(it, now)
			}
		} else {
			res.add(trimmed, now)
		}
		first = false
	}
	if len(res.Events) == 0 && len(res.Rejected) == 0 {
		return res, fmt.Errorf("decode JSON events: no events in payload")
	}
	return res, nil
}

func (r *Result) add(raw json.RawMessage, now time.Time) {
	if !utf8.Valid(raw) {
		r.InvalidUTF8++
	}
	e, err := decodeEvent(raw, now)
	if err != nil {
		r.Rejected = append(r.Rejected, domain.Rejected{Raw: append([]byte(nil), raw...), Reason: err.Error()})
		return
	}
	r.Events = append(r.Events, e)
}

func decodeEvent(raw json.RawMessage, now time.Time) (domain.Event, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return domain.Event{}, fmt.Errorf("record is not a JSON object")
	}
	d := &eventDecoder{e: domain.Event{SampleRate: 1, Status: domain.StatusUnset}}
	d.attrs, d.res = d.e.AttrWriter(&d.e.Attrs), d.e.AttrWriter(&d.e.Resource)
	for k, v := range obj {
		if err := d.field(k, v); err != nil {
			return d.e, err
		}
	}
	return d.finish(now), nil
}

// eventDecoder fills one event from the fields of a JSON object.
type eventDecoder struct {
	e        domain.Event
	kind     string
	haveTime bool
	// attrs and res write the event's attributes and resource, in linear
	// time however many keys the object has.
	attrs, res *domain.AttrWriter
}

func str(key string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("field %q: want a string", key)
}

func num(key string, v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case string:
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "+Inf", "Inf":
			return math.Inf(1), nil
		case "-Inf":
			return math.Inf(-1), nil
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, fmt.Errorf("field %q: %q is not a number", key, x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("field %q: want a number", key)
}

func object(key string, v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("field %q: want an object", key)
	}
	return m, nil
}

// field sets one well-known field, or adds an attribute.
func (d *eventDecoder) field(k string, v any) error {
	e := &d.e
	var err error
	switch k {
	case "timestamp", "time", "ts", "@timestamp":
		e.TimeUnixNano, err = parseTimestamp(k, v)
		d.haveTime = true
	case "service", "service.name", "service_name":
		e.Service, err = str(k, v)
	case "name":
		e.Name, err = str(k, v)
	case "kind":
		d.kind, err = str(k, v)
	case "trace_id", "traceId", "trace.trace_id":
		e.TraceID, err = str(k, v)
	case "span_id", "spanId", "trace.span_id":
		e.SpanID, err = str(k, v)
	case "parent_span_id", "parentSpanId", "trace.parent_id":
		e.ParentSpanID, err = str(k, v)
	case "duration_ms":
		var f float64
		if f, err = num(k, v); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			err = fmt.Errorf("field %q: not a finite number", k)
		}
		e.DurationNano = int64(f * 1e6)
	case "status":
		var s string
		s, err = str(k, v)
		e.Status = domain.Status(strings.ToLower(s))
	case "severity", "level":
		e.Severity, err = str(k, v)
	case "body", "message", "msg":
		e.Body, err = str(k, v)
	case "sample_rate", "samplerate":
		e.SampleRate, err = num(k, v)
	case "resource", "attributes":
		var m map[string]any
		if m, err = object(k, v); err == nil {
			if k == "resource" {
				err = flattenInto(d.res, "", m, 1)
			} else {
				err = flattenInto(d.attrs, "", m, 1)
			}
		}
	case "numeric_attributes":
		// Numbers JSON cannot hold (NaN, ±Inf) as strings; validation
		// decides what to do with them.
		var m map[string]any
		if m, err = object(k, v); err != nil {
			return err
		}
		for nk, nv := range m {
			f, err := num(k+"."+nk, nv)
			if err != nil {
				return err
			}
			d.attrs.PutNum(nk, f)
		}
	default:
		err = putAny(d.attrs, k, v, 0)
	}
	return err
}

// finish fills what the record left out: the time of receipt, the kind
// from the fields present, a name and status for logs.
func (d *eventDecoder) finish(now time.Time) domain.Event {
	e := d.e
	if !d.haveTime {
		e.TimeUnixNano = now.UnixNano()
	}
	switch {
	case d.kind == "change":
		// A change (deploy, config, feature flag) is an event that says
		// what kind of change it is in change.type, as recordChange and
		// OTLP logs do.
		e.Kind = domain.KindEvent
		if _, ok := e.Attrs.Get(domain.ChangeTypeAttr); !ok {
			typ := e.Name
			if typ == "" {
				typ = "change"
			}
			e.Attrs.Put(domain.ChangeTypeAttr, typ)
		}
		if e.Name == "" {
			e.Name = "change"
		}
	case d.kind != "":
		e.Kind = domain.Kind(d.kind)
	case e.SpanID != "" && e.TraceID != "":
		e.Kind = domain.KindSpan
	case e.Body != "" || e.Severity != "":
		e.Kind = domain.KindLog
	default:
		e.Kind = domain.KindEvent
	}
	if e.Name == "" && e.Kind == domain.KindLog {
		e.Name = "log"
	}
	if e.Status == domain.StatusUnset && e.Kind == domain.KindLog {
		switch strings.ToUpper(e.Severity) {
		case "ERROR", "FATAL", "CRITICAL":
			e.Status = domain.StatusError
		}
	}
	if e.Status == "" {
		e.Status = domain.StatusUnset
	}
	return e
}

// maxDepth and maxKeyBytes bound a nested attribute: each level's key is
// its parents' joined with its own, so a deep object of long keys grew
// quadratically (a 62 KB record made 611 MB of keys). Past either bound
// the record is refused, naming it.
const (
	maxDepth    = 32
	maxKeyBytes = 1024
)

// flattenInto writes nested objects with dotted keys, in linear time
// however many keys there are.
func flattenInto(w *domain.AttrWriter, prefix string, m map[string]any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("attribute %q: nested deeper than %d levels", clip(prefix), maxDepth)
	}
	for k, v := range m {
		if err := putAny(w, prefix+k, v, depth); err != nil {
			return err
		}
	}
	return nil
}

func clip(k string) string {
	if len(k) > 64 {
		return k[:64] + "…"
	}
	return k
}

func putAny(w *domain.AttrWriter, k string, v any, depth int) error {
	if len(k) > maxKeyBytes {
		return fmt.Errorf("attribute %q: key longer than %d bytes", clip(k), maxKeyBytes)
	}
	switch x := v.(type) {
	case nil:
	case string:
		w.Put(k, x)
	case bool:
		w.Put(k, strconv.FormatBool(x))
	case json.Number:
		f, err := x.Float64()
		if err != nil || !w.Numeric() {
			w.Put(k, x.String())
		} else {
			w.PutNum(k, f)
		}
	case map[string]any:
		return flattenInto(w, k+".", x, depth+1)
	default:
		b, _ := json.Marshal(x)
		w.Put(k, string(b))
	}
	return nil
}

// parseTimestamp reads RFC3339 or a Unix number in s, ms, µs or ns, told
// apart by magnitude.
func parseTimestamp(key string, v any) (int64, error) {
	switch x := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			if n, nerr := strconv.ParseFloat(x, 64); nerr == nil {
				return unixNumber(n), nil
			}
			return 0, fmt.Errorf("field %q: %q is not RFC3339 or a Unix time", key, x)
		}
		return t.UnixNano(), nil
	case json.Number:
		if i, err := x.Int64(); err == nil && i > 1e17 {
			return i, nil // nanoseconds: keep full precision
		}
		f, err := x.Float64()
		if err != nil {
			return 0, fmt.Errorf("field %q: %w", key, err)
		}
		return unixNumber(f), nil
	}
	return 0, fmt.Errorf("field %q: want an RFC3339 string or a Unix number", key)
}

func unixNumber(f float64) int64 {
	switch a := math.Abs(f); {
	case a < 1e11: // seconds
		return int64(f * 1e9)
	case a < 1e14: // milliseconds
		return int64(f * 1e6)
	case a < 1e17: // microseconds
		return int64(f * 1e3)
	}
	return int64(f)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// jsonNumber writes non-finite values as strings, which JSON cannot hold
// otherwise and Decode reads back.
func jsonNumber(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

// Encode writes an event in the format Decode reads, losslessly enough for
// a replay: numeric attributes stay numbers.
func Encode(e *domain.Event) []byte {
	obj := map[string]any{
		"timestamp":   time.Unix(0, e.TimeUnixNano).UTC().Format(time.RFC3339Nano),
		"service":     e.Service,
		"name":        e.Name,
		"kind":        string(e.Kind),
		"status":      string(e.Status),
		"sample_rate": jsonNumber(e.SampleRate),
	}
	set := func(k, v string) {
		if v != "" {
			obj[k] = v
		}
	}
	set("trace_id", e.TraceID)
	set("span_id", e.SpanID)
	set("parent_span_id", e.ParentSpanID)
	set("severity", e.Severity)
	set("body", e.Body)
	if e.HasDuration() {
		obj["duration_ms"] = float64(e.DurationNano) / 1e6
	}
	attrs, nonFinite := map[string]any{}, map[string]any{}
	for i, k := range e.Attrs.Keys {
		attrs[k] = e.Attrs.Values[i]
	}
	for i, k := range e.NumAttrs.Keys {
		if v := e.NumAttrs.Values[i]; finite(v) {
			attrs[k] = v
		} else {
			delete(attrs, k)
			nonFinite[k] = jsonNumber(v)
		}
	}
	if len(attrs) > 0 {
		obj["attributes"] = attrs
	}
	if len(nonFinite) > 0 {
		obj["numeric_attributes"] = nonFinite
	}
	if e.Resource.Len() > 0 {
		res := map[string]any{}
		for i, k := range e.Resource.Keys {
			res[k] = e.Resource.Values[i]
		}
		obj["resource"] = res
	}
	b, _ := json.Marshal(obj)
	return b
}

// sampleJSON is the dead-letter form of a metric sample.
type sampleJSON struct {
	Metric    string            `json:"metric"`
	Labels    map[string]string `json:"labels,omitempty"`
	Type      string            `json:"type"`
	Timestamp int64             `json:"timestamp_ns"`
	Value     any               `json:"value"`
}

// EncodeSample writes a sample for the dead-letter queue.
func EncodeSample(s *domain.Sample) []byte {
	j := sampleJSON{Metric: s.Name, Type: string(s.Type), Timestamp: s.TimeUnixNano, Value: jsonNumber(s.Value), Labels: map[string]string{}}
	for i, k := range s.Labels.Keys {
		j.Labels[k] = s.Labels.Values[i]
	}
	b, _ := json.Marshal(j)
	return b
}

// DecodeSamples reads samples written by EncodeSample, one per line.
func DecodeSamples(body []byte) ([]domain.Sample, error) {
	var out []domain.Sample
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		var j sampleJSON
		err := dec.Decode(&j)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("decode samples: %w", err)
		}
		m := domain.Sample{Name: j.Metric, Type: domain.MetricType(j.Type), TimeUnixNano: j.Timestamp}
		switch v := j.Value.(type) {
		case json.Number:
			m.Value, err = v.Float64()
		case string:
			m.Value, err = strconv.ParseFloat(v, 64)
		default:
			err = fmt.Errorf("value: want a number")
		}
		if err != nil {
			return out, fmt.Errorf("decode samples: %w", err)
		}
		for k, v := range j.Labels {
			m.Labels.Put(k, v)
		}
		m.Labels.Sort()
		m.SeriesID = m.ComputeSeriesID()
		out = append(out, m)
	}
	return out, nil
}

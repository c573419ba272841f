package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest/jaeger"
	"github.com/inquest/inquest/ingest/jsonfmt"
	"github.com/inquest/inquest/ingest/otlp"
	"github.com/inquest/inquest/ingest/promrw"
	"github.com/inquest/inquest/ingest/zipkin"
)

// Format names a payload encoding Inquest can decode. Dead letters keep it
// so that a replay decodes the payload the same way.
type Format string

// Formats.
const (
	FormatOTLPTracesProto  Format = "otlp-traces-proto"
	FormatOTLPTracesJSON   Format = "otlp-traces-json"
	FormatOTLPLogsProto    Format = "otlp-logs-proto"
	FormatOTLPLogsJSON     Format = "otlp-logs-json"
	FormatOTLPMetricsProto Format = "otlp-metrics-proto"
	FormatOTLPMetricsJSON  Format = "otlp-metrics-json"
	FormatRemoteWrite      Format = "prometheus-remote-write"
	FormatJSONEvents       Format = "json-events"
	FormatJSONSamples      Format = "json-samples"
	FormatZipkinJSON       Format = "zipkin-json"
	FormatJaegerJSON       Format = "jaeger-json"
	// FormatOTLPJSONLines is the OTel Collector file exporter's output: one
	// OTLP JSON request per line, of any signal.
	FormatOTLPJSONLines Format = "otlp-json-lines"
	FormatUnknown       Format = ""
)

// Batch is what a payload decoded to: events, samples and the records that
// could be told apart but not decoded.
type Batch struct {
	Events   []domain.Event
	Samples  []domain.Sample
	Rejected []domain.Rejected
	// Stale counts Prometheus staleness markers among the samples.
	Stale int
	// Merged counts source records folded into others while decoding.
	Merged int
	// Bytes is the size of the payload it came from, for byte quotas.
	Bytes int64
	// InvalidUTF8 counts records whose invalid UTF-8 the decoder replaced
	// already (JSON's does); the pipeline counts those it replaces itself.
	InvalidUTF8 int
}

// Len is the number of records, rejected ones included.
func (b *Batch) Len() int { return len(b.Events) + len(b.Samples) + len(b.Rejected) }

// Decode decodes an (uncompressed) payload of a known format. On error the
// batch may still hold what decoded before the error.
func Decode(f Format, body []byte, now time.Time) (*Batch, error) {
	return DecodeWith(f, body, now, DecodeOptions{})
}

// DecodeOptions are how a deployment wants payloads decoded.
type DecodeOptions struct {
	// Promote names the resource attributes that label every metric
	// series of their resource (nil: otlp.DefaultPromoted; empty: none).
	Promote []string
}

// Promoted is the resource attributes promoted to metric labels.
func (o DecodeOptions) Promoted() []string { return o.promote() }

func (o DecodeOptions) promote() []string {
	if o.Promote == nil {
		return otlp.DefaultPromoted()
	}
	return o.Promote
}

// DecodeWith is Decode with options.
func DecodeWith(f Format, body []byte, now time.Time, opt DecodeOptions) (*Batch, error) {
	b := &Batch{}
	var err error
	switch f {
	case FormatOTLPTracesProto:
		b.Events, err = otlp.DecodeTraces(body, otlp.Proto)
	case FormatOTLPTracesJSON:
		b.Events, err = otlp.DecodeTraces(body, otlp.JSON)
	case FormatOTLPLogsProto:
		b.Events, err = otlp.DecodeLogs(body, otlp.Proto)
	case FormatOTLPLogsJSON:
		b.Events, err = otlp.DecodeLogs(body, otlp.JSON)
	case FormatOTLPMetricsProto, FormatOTLPMetricsJSON:
		enc := otlp.Proto
		if f == FormatOTLPMetricsJSON {
			enc = otlp.JSON
		}
		var r *otlp.MetricsResult
		if r, err = otlp.DecodeMetricsWith(body, enc, opt.promote()); r != nil {
			b.Samples, b.Rejected = r.Samples, r.Rejected
		}
	case FormatRemoteWrite:
		var d *promrw.Decoded
		d, err = promrw.Decode(body)
		if d != nil {
			b.Samples, b.Stale, b.Rejected = d.Samples, d.Stale, d.Rejected
		}
	case FormatJSONEvents:
		var r *jsonfmt.Result
		r, err = jsonfmt.Decode(body, now)
		if r != nil {
			b.Events, b.Rejected, b.InvalidUTF8 = r.Events, r.Rejected, r.InvalidUTF8
		}
	case FormatJSONSamples:
		b.Samples, err = jsonfmt.DecodeSamples(body)
	case FormatZipkinJSON:
		var r *zipkin.Result
		r, err = zipkin.Decode(body)
		if r != nil {
			b.Events, b.Rejected, b.Merged = r.Events, r.Rejected, r.Merged
		}
	case FormatJaegerJSON:
		var r *jaeger.Result
		r, err = jaeger.Decode(body)
		if r != nil {
			b.Events, b.Rejected = r.Events, r.Rejected
		}
	case FormatOTLPJSONLines:
		err = decodeOTLPLines(b, body, opt)
	default:
		return nil, fmt.Errorf("unknown format %q", f)
	}
	return b, err
}

// decodeOTLPLines decodes OTLP JSON requests one a line. The request's
// limits hold for all its lines together: each line is checked as a
// request of its own, and the lines' sum is checked as it grows.
func decodeOTLPLines(b *Batch, body []byte, opt DecodeOptions) error {
	labels := 0
	for i, line := range bytes.Split(body, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var err error
		switch jsonShape(line) {
		case FormatOTLPTracesJSON:
			var evs []domain.Event
			evs, err = otlp.DecodeTraces(line, otlp.JSON)
			b.Events = append(b.Events, evs...)
		case FormatOTLPLogsJSON:
			var evs []domain.Event
			evs, err = otlp.DecodeLogs(line, otlp.JSON)
			b.Events = append(b.Events, evs...)
		case FormatOTLPMetricsJSON:
			var r *otlp.MetricsResult
			if r, err = otlp.DecodeMetricsWith(line, otlp.JSON, opt.promote()); r != nil {
				b.Samples, b.Rejected = append(b.Samples, r.Samples...), append(b.Rejected, r.Rejected...)
				labels += r.Labels
			}
		default:
			err = fmt.Errorf("not an OTLP JSON request")
		}
		if errors.Is(err, otlp.ErrTooManyRecords) {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
		if err != nil {
			b.Rejected = append(b.Rejected, domain.Rejected{Raw: append([]byte(nil), line...), Reason: fmt.Sprintf("line %d: %v", i+1, err)})
		}
		if len(b.Events) > otlp.MaxRecordsPerRequest || len(b.Samples) > otlp.MaxSamplesPerRequest || labels > otlp.MaxLabelsPerRequest {
			return fmt.Errorf("%w: the first %d lines hold %d records and %d samples with %d labels, more than %d records, %d samples or %d labels in one request: send smaller batches",
				otlp.ErrTooManyRecords, i+1, len(b.Events), len(b.Samples), labels, otlp.MaxRecordsPerRequest, otlp.MaxSamplesPerRequest, otlp.MaxLabelsPerRequest)
		}
	}
	if b.Len() == 0 {
		return fmt.Errorf("decode OTLP JSON lines: no records")
	}
	return nil
}

// jsonShape tells JSON formats apart by their top-level keys.
func jsonShape(body []byte) Format {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return FormatUnknown
	}
	if trimmed[0] == '[' {
		// Zipkin v2 is an array of spans with traceId and id; anything else
		// is an array of events.
		var first []map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		if err := dec.Decode(&first); err == nil && len(first) > 0 {
			_, tid := first[0]["traceId"]
			_, id := first[0]["id"]
			_, le := first[0]["localEndpoint"]
			_, ts := first[0]["timestamp"]
			if tid && id && (le || ts) {
				return FormatZipkinJSON
			}
		}
		return FormatJSONEvents
	}
	if trimmed[0] != '{' {
		return FormatUnknown
	}
	// Look at the keys of the first object only.
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&obj); err != nil {
		return FormatJSONEvents // let the events decoder name the error
	}
	multi := dec.More()
	switch {
	case obj["resourceSpans"] != nil:
		if multi {
			return FormatOTLPJSONLines
		}
		return FormatOTLPTracesJSON
	case obj["resourceLogs"] != nil:
		if multi {
			return FormatOTLPJSONLines
		}
		return FormatOTLPLogsJSON
	case obj["resourceMetrics"] != nil:
		if multi {
			return FormatOTLPJSONLines
		}
		return FormatOTLPMetricsJSON
	case obj["data"] != nil:
		var data []map[string]json.RawMessage
		if json.Unmarshal(obj["data"], &data) == nil && len(data) > 0 && data[0]["spans"] != nil {
			return FormatJaegerJSON
		}
	}
	return FormatJSONEvents
}

// Detect picks the format of a payload from its Content-Type, then its first
// bytes, then its shape. body must already be decompressed. Protobuf OTLP
// does not say which signal it carries, so the three are tried in turn;
// the signal-specific paths (/v1/traces, ...) avoid the guess.
func Detect(contentType string, body []byte, remoteWrite bool) Format {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	if remoteWrite {
		return FormatRemoteWrite
	}
	switch ct {
	case "application/x-ndjson", "application/jsonl", "application/json":
		return jsonShape(body)
	case "application/x-protobuf", "application/protobuf":
		return detectProto(body)
	}
	// No or a generic Content-Type: JSON starts with '{' or '['.
	if t := bytes.TrimSpace(body); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return jsonShape(body)
	}
	return detectProto(body)
}

func detectProto(body []byte) Format {
	if len(body) == 0 {
		return FormatUnknown
	}
	evs, err := otlp.DecodeTraces(body, otlp.Proto)
	if err == nil && len(evs) > 0 || errors.Is(err, otlp.ErrTooManyRecords) {
		return FormatOTLPTracesProto // too many: the decode says so, without building them
	}
	if evs, err := otlp.DecodeLogs(body, otlp.Proto); err == nil && len(evs) > 0 {
		return FormatOTLPLogsProto
	}
	if r, err := otlp.DecodeMetrics(body, otlp.Proto); err == nil && len(r.Samples) > 0 {
		return FormatOTLPMetricsProto
	}
	return FormatUnknown
}

// BadLine is a line of a line-delimited body that did not decode.
type BadLine struct {
	No  int    // its number; the body's first line is line0
	Raw []byte // the line, without its newline
	Err error
}

// Reason names the line and what was wrong with it.
func (b BadLine) Reason() string { return fmt.Sprintf("line %d skipped: %v", b.No, b.Err) }

// DecodeLines decodes a line-delimited body (OTLP JSON lines, NDJSON
// events) one line at a time: the records of every line that decodes, and
// each line that does not, by its number (the first line is line0). One
// bad line costs only itself.
func DecodeLines(f Format, body []byte, now time.Time, line0 int, opt DecodeOptions) (*Batch, []BadLine) {
	good := &Batch{}
	var bad []BadLine
	no := line0
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i+1], body[i+1:]
		} else {
			body = nil
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			b, err := DecodeWith(f, line, now, opt)
			if err != nil {
				bad = append(bad, BadLine{No: no, Raw: trimmed, Err: err})
			} else {
				good.Events = append(good.Events, b.Events...)
				good.Samples = append(good.Samples, b.Samples...)
				good.Rejected = append(good.Rejected, b.Rejected...)
				good.Merged += b.Merged
				good.Stale += b.Stale
				good.InvalidUTF8 += b.InvalidUTF8
			}
		}
		no++
	}
	return good, bad
}

// LineDelimited says whether a body is line-delimited records: its first
// line is a whole JSON object and more follows.
func LineDelimited(body []byte) bool {
	nl := bytes.IndexByte(body, '\n')
	if nl < 0 {
		return false
	}
	first := bytes.TrimSpace(body[:nl])
	return len(first) > 0 && first[0] == '{' && json.Valid(first) && len(bytes.TrimSpace(body[nl:])) > 0
}

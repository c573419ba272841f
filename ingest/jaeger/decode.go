// Package jaeger decodes the JSON that Jaeger's UI and query API export
// ({"data": [{"traceID", "spans", "processes"}]}) into span events. Jaeger
// keeps that model internal, so the few structs needed are written here.
package jaeger

import (
	"encoding/json"
	"fmt"

	"github.com/inquest/inquest/domain"
)

type tag struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

type reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type logEntry struct {
	Timestamp int64 `json:"timestamp"`
	Fields    []tag `json:"fields"`
}

type span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []reference `json:"references"`
	StartTime     int64       `json:"startTime"` // µs
	Duration      int64       `json:"duration"`  // µs
	Tags          []tag       `json:"tags"`
	Logs          []logEntry  `json:"logs"`
	ProcessID     string      `json:"processID"`
}

type process struct {
	ServiceName string `json:"serviceName"`
	Tags        []tag  `json:"tags"`
}

type trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []json.RawMessage  `json:"spans"`
	Processes map[string]process `json:"processes"`
}

type document struct {
	Data []trace `json:"data"`
}

// Result is what a payload decoded to.
type Result struct {
	Events   []domain.Event
	Rejected []domain.Rejected
}

// tagValue returns the tag as text and, for numbers and bools, whether it
// is numeric.
func tagValue(t tag) (string, float64, bool) {
	var s string
	if err := json.Unmarshal(t.Value, &s); err == nil {
		return s, 0, false
	}
	var f float64
	if err := json.Unmarshal(t.Value, &f); err == nil {
		return domain.FormatNumber(f), f, t.Type != "bool"
	}
	return string(t.Value), 0, false
}

func putTag(e *domain.Event, attrs *domain.Attrs, t tag) {
	s, f, numeric := tagValue(t)
	if numeric && attrs == &e.Attrs {
		e.PutNum(t.Key, f)
		return
	}
	attrs.Put(t.Key, s)
}

// Decode reads a Jaeger JSON document.
func Decode(body []byte) (*Result, error) {
	var doc document
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode Jaeger JSON: %w", err)
	}
	if doc.Data == nil {
		return nil, fmt.Errorf("decode Jaeger JSON: no \"data\" array")
	}
	res := &Result{}
	for _, tr := range doc.Data {
		for _, raw := range tr.Spans {
			var sp span
			if err := json.Unmarshal(raw, &sp); err != nil {
				res.Rejected = append(res.Rejected, domain.Rejected{Raw: raw, Reason: fmt.Sprintf("jaeger span: %v", err)})
				continue
			}
			proc, ok := tr.Processes[sp.ProcessID]
			if !ok || proc.ServiceName == "" {
				res.Rejected = append(res.Rejected, domain.Rejected{Raw: raw, Reason: fmt.Sprintf("jaeger span: unknown process %q", sp.ProcessID)})
				continue
			}
			e := domain.Event{
				TimeUnixNano: sp.StartTime * 1000,
				Kind:         domain.KindSpan,
				Service:      proc.ServiceName,
				Name:         sp.OperationName,
				TraceID:      sp.TraceID,
				SpanID:       sp.SpanID,
				DurationNano: sp.Duration * 1000,
				Status:       domain.StatusUnset,
				SampleRate:   1,
			}
			for _, r := range sp.References {
				if r.RefType == "CHILD_OF" || e.ParentSpanID == "" {
					e.ParentSpanID = r.SpanID
				}
			}
			e.Resource.Put("service.name", proc.ServiceName)
			for _, t := range proc.Tags {
				putTag(&e, &e.Resource, t)
			}
			for _, t := range sp.Tags {
				switch t.Key {
				case "error":
					if s, _, _ := tagValue(t); s == "true" || s == "1" {
						e.Status = domain.StatusError
					}
				case "otel.status_code":
					if s, _, _ := tagValue(t); s == "ERROR" {
						e.Status = domain.StatusError
					} else if s == "OK" {
						e.Status = domain.StatusOK
					}
				default:
					putTag(&e, &e.Attrs, t)
				}
			}
			if v, ok := e.NumAttrs.Get("sampler.param"); ok && v > 0 && v <= 1 {
				if typ, _ := e.Attrs.Get("sampler.type"); typ == "probabilistic" {
					e.SampleRate = 1 / v
				}
			}
			res.Events = append(res.Events, e)
			for _, l := range sp.Logs {
				le := domain.Event{TimeUnixNano: l.Timestamp * 1000, Kind: domain.KindLog, Service: e.Service,
					Name: "log", TraceID: e.TraceID, SpanID: e.SpanID, Status: domain.StatusUnset, SampleRate: e.SampleRate,
					Resource: e.Resource}
				for _, f := range l.Fields {
					switch f.Key {
					case "event":
						le.Name, _, _ = tagValue(f)
					case "message":
						le.Body, _, _ = tagValue(f)
					case "level":
						le.Severity, _, _ = tagValue(f)
					default:
						putTag(&le, &le.Attrs, f)
					}
				}
				res.Events = append(res.Events, le)
			}
		}
	}
	weighTraces(res.Events)
	return res, nil
}

// weighTraces applies each trace's sampling decision to all of its spans
// and logs. Jaeger's clients tag only the root span with sampler.type and
// sampler.param, but the decision kept or dropped the whole trace: every
// span of a trace sampled at 0.2 stands for five, not just the root. A
// root's rate wins over another span's if a trace carries two.
func weighTraces(events []domain.Event) {
	type decision struct {
		rate float64
		root bool
	}
	rates := map[string]decision{}
	for i := range events {
		e := &events[i]
		if e.Kind != domain.KindSpan || e.SampleRate == 1 {
			continue
		}
		d, seen := rates[e.TraceID]
		if !seen || (!d.root && e.ParentSpanID == "") {
			rates[e.TraceID] = decision{rate: e.SampleRate, root: e.ParentSpanID == ""}
		}
	}
	if len(rates) == 0 {
		return
	}
	for i := range events {
		if d, ok := rates[events[i].TraceID]; ok {
			events[i].SampleRate = d.rate
		}
	}
}

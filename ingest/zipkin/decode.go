// Package zipkin decodes Zipkin v2 JSON spans (as Zipkin's API and UI
// export them) into Inquest span events.
package zipkin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/openzipkin/zipkin-go/model"

	"github.com/inquest/inquest/domain"
)

// Result is what a payload decoded to.
type Result struct {
	Events   []domain.Event
	Rejected []domain.Rejected
	// Merged counts the fragments folded into a span reported before them.
	Merged int
}

type spanKey struct {
	trace, id, service string
}

// Decode reads a JSON array of Zipkin v2 spans.
//
// Zipkin reports a span in fragments (one with the timestamp, another with
// late tags) and lets a server span share its client's ID. Fragments of the
// same ID and service are merged as Zipkin's UI does; a shared server span
// gets an ID of its own, derived from the client's, with the client as its
// parent, and the children of the server are re-parented onto it, so that
// parent/child links cross service boundaries the way OpenTelemetry's do.
func Decode(body []byte) (*Result, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, fmt.Errorf("decode Zipkin JSON: want an array of spans: %w", err)
	}
	res := &Result{}
	spans, rawOf := mergeFragments(raws, res)
	// Shared server spans get IDs of their own; their children hang under
	// them rather than under the client.
	servers := map[string]sharedServer{} // trace/client span id -> server span
	for _, s := range spans {
		if s.Shared {
			servers[s.TraceID.String()+"/"+s.ID.String()] = sharedServer{id: derivedID(s.ID.String()), service: serviceOf(s)}
		}
	}
	for i, s := range spans {
		if s.Timestamp.IsZero() {
			res.Rejected = append(res.Rejected, domain.Rejected{Raw: rawOf[i], Reason: "zipkin span without timestamp"})
			continue
		}
		res.Events = append(res.Events, toEvent(s, servers))
	}
	return res, nil
}

type sharedServer struct {
	id      string
	service string
}

// mergeFragments decodes the spans, folding fragments of the same ID and
// service into the first one seen; rawOf keeps each span's first raw form.
func mergeFragments(raws []json.RawMessage, res *Result) (spans []*model.SpanModel, rawOf []json.RawMessage) {
	merged := map[spanKey]*model.SpanModel{}
	for _, raw := range raws {
		var s model.SpanModel
		if err := json.Unmarshal(raw, &s); err != nil {
			res.Rejected = append(res.Rejected, domain.Rejected{Raw: raw, Reason: fmt.Sprintf("zipkin span: %v", err)})
			continue
		}
		k := spanKey{s.TraceID.String(), s.ID.String(), serviceOf(&s)}
		if prev, ok := merged[k]; ok {
			merge(prev, &s)
			res.Merged++
			continue
		}
		merged[k] = &s
		spans = append(spans, &s)
		rawOf = append(rawOf, raw)
	}
	return spans, rawOf
}

// toEvent converts one merged span.
func toEvent(s *model.SpanModel, servers map[string]sharedServer) domain.Event {
	name := s.Name
	if name == "" {
		name = "unknown" // what Zipkin's UI shows for a span without a name
	}
	e := domain.Event{
		TimeUnixNano: s.Timestamp.UnixNano(),
		Kind:         domain.KindSpan,
		Service:      serviceOf(s),
		Name:         name,
		TraceID:      s.TraceID.String(),
		SpanID:       s.ID.String(),
		DurationNano: s.Duration.Nanoseconds(),
		Status:       domain.StatusUnset,
		SampleRate:   1,
	}
	if s.ParentID != nil {
		e.ParentSpanID = s.ParentID.String()
	}
	if s.Shared {
		e.ParentSpanID, e.SpanID = e.SpanID, derivedID(e.SpanID)
	} else if e.ParentSpanID != "" {
		if srv, ok := servers[e.TraceID+"/"+e.ParentSpanID]; ok && srv.service == e.Service {
			e.ParentSpanID = srv.id
		}
	}
	if s.Kind != "" {
		e.Attrs.Put("span.kind", strings.ToLower(string(s.Kind)))
	}
	if s.LocalEndpoint != nil {
		if s.LocalEndpoint.IPv4 != nil {
			e.Resource.Put("host.ip", s.LocalEndpoint.IPv4.String())
		}
		if s.LocalEndpoint.Port != 0 {
			e.Resource.Put("host.port", strconv.Itoa(int(s.LocalEndpoint.Port)))
		}
	}
	e.Resource.Put("service.name", e.Service)
	if s.RemoteEndpoint != nil && s.RemoteEndpoint.ServiceName != "" {
		e.Attrs.Put("peer.service", s.RemoteEndpoint.ServiceName)
	}
	for k, v := range s.Tags {
		if f, err := strconv.ParseFloat(v, 64); err == nil && k != "error" {
			e.PutNum(k, f)
		} else {
			e.Attrs.Put(k, v)
		}
	}
	if _, ok := s.Tags["error"]; ok {
		e.Status = domain.StatusError
	}
	return e
}

func serviceOf(s *model.SpanModel) string {
	if s.LocalEndpoint != nil && s.LocalEndpoint.ServiceName != "" {
		return s.LocalEndpoint.ServiceName
	}
	return "unknown_service"
}

// merge folds a later fragment into the first one seen.
func merge(dst, src *model.SpanModel) {
	if dst.Timestamp.IsZero() {
		dst.Timestamp = src.Timestamp
	}
	if src.Duration > dst.Duration {
		dst.Duration = src.Duration
	}
	if dst.Name == "" || dst.Name == "unknown" {
		dst.Name = src.Name
	}
	if dst.Kind == "" {
		dst.Kind = src.Kind
	}
	if dst.ParentID == nil {
		dst.ParentID = src.ParentID
	}
	dst.Shared = dst.Shared || src.Shared
	if dst.RemoteEndpoint == nil {
		dst.RemoteEndpoint = src.RemoteEndpoint
	}
	if dst.Tags == nil {
		dst.Tags = map[string]string{}
	}
	for k, v := range src.Tags {
		dst.Tags[k] = v
	}
	dst.Annotations = append(dst.Annotations, src.Annotations...)
}

// derivedID gives a shared server span a stable ID of its own.
func derivedID(clientID string) string {
	return fmt.Sprintf("%016x", xxhash.Sum64String("shared/"+clientID))
}

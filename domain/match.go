package domain

import (
	"strconv"
	"strings"
)

// Match evaluates the filters against one event in Go, with the same meaning
// the backends give them in SQL. Live tails use it on freshly written events.
func Match(e *Event, filters []Filter) bool {
	for i := range filters {
		if !matchOne(e, &filters[i]) {
			return false
		}
	}
	return true
}

func fieldValue(e *Event, f Field) (string, bool) {
	switch f.Kind {
	case FieldAttr:
		return e.Attrs.Get(f.Name)
	case FieldResource:
		return e.Resource.Get(f.Name)
	}
	switch f.Name {
	case "service":
		return e.Service, true
	case "name":
		return e.Name, true
	case "kind":
		return string(e.Kind), true
	case "status":
		return string(e.Status), true
	case "severity":
		return e.Severity, e.Severity != ""
	case "body":
		return e.Body, e.Body != ""
	case "trace_id":
		return e.TraceID, e.TraceID != ""
	case "span_id":
		return e.SpanID, e.SpanID != ""
	case "parent_span_id":
		return e.ParentSpanID, e.ParentSpanID != ""
	case "duration_ms":
		return FormatNumber(float64(e.DurationNano) / 1e6), e.Kind == KindSpan
	case "sample_rate":
		return FormatNumber(e.SampleRate), true
	}
	return "", false
}

func numericValue(e *Event, f Field) (float64, bool) {
	switch {
	case f.Kind == FieldColumn && f.Name == "duration_ms":
		return float64(e.DurationNano) / 1e6, e.Kind == KindSpan
	case f.Kind == FieldColumn && f.Name == "sample_rate":
		return e.SampleRate, true
	case f.Kind == FieldAttr:
		if v, ok := e.NumAttrs.Get(f.Name); ok {
			return v, true
		}
	}
	s, ok := fieldValue(e, f)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

func matchOne(e *Event, f *Filter) bool {
	switch f.Op {
	case OpGt, OpGe, OpLt, OpLe:
		v, ok := numericValue(e, f.Field)
		want, err := f.Number()
		if !ok || err != nil {
			return false
		}
		switch f.Op {
		case OpGt:
			return v > want
		case OpGe:
			return v >= want
		case OpLt:
			return v < want
		default:
			return v <= want
		}
	}
	s, ok := fieldValue(e, f.Field)
	switch f.Op {
	case OpExists:
		return ok
	case OpNotExists:
		return !ok
	case OpEq:
		if f.Field.Numeric() {
			v, vok := numericValue(e, f.Field)
			want, err := f.Number()
			return vok && err == nil && v == want
		}
		return ok && s == f.Value
	case OpNe:
		if f.Field.Numeric() {
			v, vok := numericValue(e, f.Field)
			want, err := f.Number()
			return vok && err == nil && v != want
		}
		return ok && s != f.Value
	case OpContains:
		return ok && strings.Contains(s, f.Value)
	case OpNotContains:
		return ok && !strings.Contains(s, f.Value)
	case OpIn, OpNotIn:
		if !ok {
			return false
		}
		in := false
		for _, v := range f.Values {
			if v == s {
				in = true
				break
			}
		}
		return in == (f.Op == OpIn)
	}
	return false
}

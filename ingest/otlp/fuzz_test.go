package otlp

import (
	"encoding/json"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// FuzzDecode runs every OTLP decoder, proto and JSON, on arbitrary bytes.
func FuzzDecode(f *testing.F) {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("op")
	sp.SetTraceID([16]byte{1})
	sp.Attributes().PutEmptyMap("m").PutInt("k", 1)
	sp.Events().AppendEmpty().Attributes().PutStr("exception.message", "x")
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("hi")
	md := pmetric.NewMetrics()
	h := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyHistogram().DataPoints().AppendEmpty()
	h.BucketCounts().FromRaw([]uint64{1, 2})
	h.ExplicitBounds().FromRaw([]float64{1})
	for _, m := range []interface {
		MarshalProto() ([]byte, error)
		MarshalJSON() ([]byte, error)
	}{ptraceotlp.NewExportRequestFromTraces(td), plogotlp.NewExportRequestFromLogs(ld), pmetricotlp.NewExportRequestFromMetrics(md)} {
		p, _ := m.MarshalProto()
		j, _ := m.MarshalJSON()
		f.Add(p)
		f.Add(j)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, enc := range []Encoding{Proto, JSON} {
			_, _ = DecodeTraces(body, enc)
			_, _ = DecodeLogs(body, enc)
			_, _ = DecodeMetrics(body, enc)
		}
	})
}

// FuzzCountJSON: the JSON record counter never panics, and on a valid
// OTLP/JSON request (the decoder accepts it) it counts at least what the
// decoder finds: it may count "spans" arrays under keys the decoder skips,
// which only makes the limit stricter for nonsense, never looser.
func FuzzCountJSON(f *testing.F) {
	td := ptrace.NewTraces()
	for r := 0; r < 2; r++ {
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans()
		for s := 0; s < 2; s++ {
			spans := ss.AppendEmpty().Spans()
			for i := 0; i < 3; i++ {
				sp := spans.AppendEmpty()
				sp.SetName(`a "spans": [1,2] name`)
				sp.Attributes().PutStr("spans", "[")
			}
		}
	}
	j, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	f.Add(j)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{},{},{}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n := countJSONArrays(body, jsonSpanKeys...)
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
		if err != nil || !json.Valid(body) {
			return
		}
		if n < td.SpanCount() {
			t.Fatalf("counted %d spans, the decoder found %d", n, td.SpanCount())
		}
	})
}

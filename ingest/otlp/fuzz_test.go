package otlp

import (
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

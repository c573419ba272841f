package ingest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func samplePayloads(t testing.TB) map[Format][]byte {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("op")
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{2})
	sp.SetStartTimestamp(1)
	sp.SetEndTimestamp(2)
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(1)
	lr.Body().SetStr("hello")
	md := pmetric.NewMetrics()
	g := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("g")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)

	must := func(b []byte, err error) []byte {
		require.NoError(t, err)
		return b
	}
	tj := must(ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON())
	return map[Format][]byte{
		FormatOTLPTracesProto:  must(ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()),
		FormatOTLPTracesJSON:   tj,
		FormatOTLPLogsProto:    must(plogotlp.NewExportRequestFromLogs(ld).MarshalProto()),
		FormatOTLPLogsJSON:     must(plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()),
		FormatOTLPMetricsProto: must(pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()),
		FormatOTLPMetricsJSON:  must(pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()),
		FormatOTLPJSONLines:    append(append(append([]byte{}, tj...), '\n'), must(plogotlp.NewExportRequestFromLogs(ld).MarshalJSON())...),
		FormatZipkinJSON:       []byte(`[{"traceId":"a","id":"1","name":"x","timestamp":1,"localEndpoint":{"serviceName":"s"}}]`),
		FormatJaegerJSON:       []byte(`{"data":[{"traceID":"a","spans":[],"processes":{}}]}`),
		FormatJSONEvents:       []byte(`{"service":"s","name":"n"}`),
	}
}

func TestDetect(t *testing.T) {
	for want, body := range samplePayloads(t) {
		ct := "application/json"
		if want == FormatOTLPTracesProto || want == FormatOTLPLogsProto || want == FormatOTLPMetricsProto {
			ct = "application/x-protobuf"
		}
		assert.Equal(t, want, Detect(ct, body, false), "by content type: %s", want)
		assert.Equal(t, want, Detect("", body, false), "by shape alone: %s", want)
		b, err := Decode(want, body, time.Now())
		require.NoError(t, err, want)
		if want != FormatJaegerJSON {
			assert.Positive(t, len(b.Events)+len(b.Samples), want)
		}
	}
	assert.Equal(t, FormatJSONEvents, Detect("application/x-ndjson", []byte("{\"a\":1}\n{\"a\":2}"), false))
	assert.Equal(t, FormatJSONEvents, Detect("", []byte(`[{"service":"s","name":"n"}]`), false))
	assert.Equal(t, FormatRemoteWrite, Detect("application/x-protobuf", []byte{1}, true))
	assert.Equal(t, FormatUnknown, Detect("application/octet-stream", []byte{0xff, 0xfe, 0x00}, false))
	assert.Equal(t, FormatUnknown, Detect("", nil, false))
	_, err := Decode("nope", nil, time.Now())
	assert.ErrorContains(t, err, "unknown format")
}

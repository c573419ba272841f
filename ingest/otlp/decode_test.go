package otlp

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/inquest/inquest/domain"
)

func TestTracesAttributeTypes(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{0xab, 1})
	sp.SetSpanID([8]byte{2})
	sp.SetName("op")
	sp.SetKind(ptrace.SpanKindClient)
	sp.SetStartTimestamp(1000)
	sp.SetEndTimestamp(3000)
	sp.Status().SetCode(ptrace.StatusCodeOk)
	a := sp.Attributes()
	a.PutStr("s", "x")
	a.PutInt("i", 42)
	a.PutDouble("d", 1.5)
	a.PutBool("b", true)
	a.PutEmptyBytes("bytes").FromRaw([]byte{1, 2})
	a.PutEmptySlice("list").AppendEmpty().SetStr("a")
	a.PutEmptyMap("map").PutInt("k", 1)
	a.PutDouble("sample_rate", 10)

	evs := Traces(td)
	require.Len(t, evs, 1)
	e := evs[0]
	assert.Equal(t, UnknownService, e.Service, "no service.name")
	assert.Equal(t, "ab010000000000000000000000000000", e.TraceID)
	assert.Equal(t, "", e.ParentSpanID)
	assert.Equal(t, int64(2000), e.DurationNano)
	assert.Equal(t, domain.StatusOK, e.Status)
	assert.Equal(t, 10.0, e.SampleRate)
	get := func(k string) string { v, _ := e.Attrs.Get(k); return v }
	assert.Equal(t, "client", get("span.kind"))
	assert.Equal(t, "42", get("i"))
	assert.Equal(t, "1.5", get("d"))
	assert.Equal(t, "true", get("b"))
	assert.Equal(t, "AQI=", get("bytes"))
	assert.Equal(t, `["a"]`, get("list"))
	assert.Equal(t, `{"k":1}`, get("map"))
	n, _ := e.NumAttrs.Get("i")
	assert.Equal(t, 42.0, n)
}

func TestLogsSeverityAndName(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "api")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	l1 := lrs.AppendEmpty()
	l1.SetObservedTimestamp(5)
	l1.SetSeverityNumber(plog.SeverityNumberError2)
	l1.Body().SetStr("boom")
	l1.Attributes().PutStr("event.name", "payment.failed")
	l2 := lrs.AppendEmpty()
	l2.SetTimestamp(6)
	l2.SetSeverityText("debug")
	evs := Logs(ld)
	require.Len(t, evs, 2)
	assert.Equal(t, int64(5), evs[0].TimeUnixNano, "observed time when no time")
	assert.Equal(t, domain.StatusError, evs[0].Status)
	assert.Equal(t, "ERROR2", evs[0].Severity)
	assert.Equal(t, "payment.failed", evs[0].Name)
	assert.Equal(t, "log", evs[1].Name)
	assert.Equal(t, "debug", evs[1].Severity)
	assert.Equal(t, domain.StatusUnset, evs[1].Status)
}

func TestMetricsPrometheusStyle(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "api")
	rm.Resource().Attributes().PutStr("service.instance.id", "api-1")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()

	c := ms.AppendEmpty()
	c.SetName("requests")
	sum := c.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetIntValue(7)
	dp.SetTimestamp(pcommon.Timestamp(100))
	dp.Attributes().PutStr("code", "200")

	d := ms.AppendEmpty()
	d.SetName("delta")
	ds := d.SetEmptySum()
	ds.SetIsMonotonic(true)
	ds.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	ds.DataPoints().AppendEmpty().SetDoubleValue(1)

	h := ms.AppendEmpty()
	h.SetName("latency")
	hdp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
	hdp.SetCount(6)
	hdp.SetSum(3.5)
	hdp.ExplicitBounds().FromRaw([]float64{0.1, 1})
	hdp.BucketCounts().FromRaw([]uint64{1, 2, 3})

	sm := ms.AppendEmpty()
	sm.SetName("rpc")
	sdp := sm.SetEmptySummary().DataPoints().AppendEmpty()
	sdp.SetCount(2)
	sdp.SetSum(4)
	q := sdp.QuantileValues().AppendEmpty()
	q.SetQuantile(0.99)
	q.SetValue(3)

	got := map[string]domain.Sample{}
	res, err := Metrics(md)
	require.NoError(t, err)
	for _, s := range res.Samples {
		k := s.Name
		for i, lk := range s.Labels.Keys {
			if lk == "le" || lk == "quantile" {
				k += "{" + lk + "=" + s.Labels.Values[i] + "}"
			}
		}
		got[k] = s
		assert.NotZero(t, s.SeriesID)
	}
	r := got["requests"]
	assert.Equal(t, domain.MetricCounter, r.Type)
	assert.Equal(t, 7.0, r.Value)
	assert.Equal(t, []string{"code", "instance", "job"}, r.Labels.Keys, "sorted, with job and instance from the resource")
	assert.Equal(t, domain.MetricGauge, got["delta"].Type, "delta sums are not counters")
	assert.Equal(t, 6.0, got["latency_count"].Value)
	assert.Equal(t, 3.5, got["latency_sum"].Value)
	assert.Equal(t, 1.0, got["latency_bucket{le=0.1}"].Value)
	assert.Equal(t, 3.0, got["latency_bucket{le=1}"].Value, "cumulative")
	assert.Equal(t, 6.0, got["latency_bucket{le=+Inf}"].Value)
	assert.Equal(t, 3.0, got["rpc{quantile=0.99}"].Value)
	assert.Equal(t, domain.MetricSummary, got["rpc{quantile=0.99}"].Type)
	assert.Equal(t, 2.0, got["rpc_count"].Value)
	_, ok := got["target_info"]
	assert.False(t, ok, "no target_info for a resource with nothing beyond job and instance")
}

// TestMetricsKeepTheirResource: the promoted resource attributes label
// every series of the resource (so two pods, or two versions, of one
// service are two series), and the others are kept on target_info.
func TestMetricsKeepTheirResource(t *testing.T) {
	md := pmetric.NewMetrics()
	for i, pod := range []string{"cart-7d9f-a", "cart-7d9f-b"} {
		rm := md.ResourceMetrics().AppendEmpty()
		a := rm.Resource().Attributes()
		a.PutStr("service.name", "cart")
		a.PutStr("k8s.pod.name", pod)
		a.PutStr("k8s.node.name", "node-1")
		a.PutStr("service.version", fmt.Sprintf("2.%d.0", i))
		a.PutStr("cloud.region", "eu-west-1")
		g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		g.SetName("cpu")
		dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetDoubleValue(float64(i))
		dp.SetTimestamp(pcommon.Timestamp(100 + i))
	}
	series := map[uint64]bool{}
	var infos []domain.Sample
	res, err := Metrics(md)
	require.NoError(t, err)
	for _, s := range res.Samples {
		if s.Name == "target_info" {
			infos = append(infos, s)
			continue
		}
		series[s.SeriesID] = true
		assert.Equal(t, []string{"job", "k8s.node.name", "k8s.pod.name", "service.version"}, s.Labels.Keys)
		_, ok := s.Labels.Get("cloud.region")
		assert.False(t, ok, "only the promoted attributes label the series")
	}
	assert.Len(t, series, 2, "one series per pod")
	require.Len(t, infos, 2, "one target_info per resource")
	region, _ := infos[1].Labels.Get("cloud.region")
	assert.Equal(t, "eu-west-1", region)
	pod, _ := infos[1].Labels.Get("k8s.pod.name")
	assert.Equal(t, "cart-7d9f-b", pod)
	assert.Equal(t, int64(101), infos[1].TimeUnixNano, "at the newest time of its resource's points")
	assert.Equal(t, 1.0, infos[1].Value)
}

// TestManyAttributesInLinearTime: a span with 100,000 attributes converts
// well within a deadline (a bound on one request's worst case; adding
// them with Put, which scans, took half a minute).
func TestManyAttributesInLinearTime(t *testing.T) {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("wide")
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	raw := make(map[string]any, 100_000)
	for i := 0; i < 100_000; i++ {
		raw[fmt.Sprint("k", i)] = int64(i)
	}
	// FromRaw appends; PutInt would scan for each key (pdata's own cost).
	require.NoError(t, sp.Attributes().FromRaw(raw))
	done := make(chan []domain.Event, 1)
	go func() { done <- Traces(td) }()
	select {
	case evs := <-done:
		require.Len(t, evs, 1)
		assert.Equal(t, 100_000, evs[0].NumAttrs.Len())
	case <-time.After(10 * time.Second):
		t.Fatal("100,000 attributes took longer than 10 s: attribute handling is not linear")
	}
}

// TestTooManyRecordsRefusedBeforeDecoding: a body of more spans than the
// limit is refused from a count of the wire format, before a span object
// is built; a body at the limit's scale below it decodes.
func TestTooManyRecordsRefusedBeforeDecoding(t *testing.T) {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(MaxRecordsPerRequest + 1)
	for i := 0; i <= MaxRecordsPerRequest; i++ {
		spans.AppendEmpty()
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	assert.Equal(t, MaxRecordsPerRequest+1, countRecords(body))
	_, err = DecodeTraces(body, Proto)
	assert.ErrorIs(t, err, ErrTooManyRecords)
	assert.ErrorContains(t, err, "send smaller batches")

	small, err := ptraceotlp.NewExportRequestFromTraces(oneSpanTraces()).MarshalProto()
	require.NoError(t, err)
	assert.Equal(t, 1, countRecords(small))
}

// TestSpanEventsAndLinksCount: one span with more events and links than
// the limit (each event becomes a log record) is refused before decoding,
// in protobuf and in JSON.
func TestSpanEventsAndLinksCount(t *testing.T) {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("one span, many events")
	half := MaxRecordsPerRequest / 2
	sp.Events().EnsureCapacity(half)
	for range half {
		sp.Events().AppendEmpty()
	}
	sp.Links().EnsureCapacity(half)
	for range half {
		sp.Links().AppendEmpty()
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	assert.Equal(t, 1+2*half, countRecords(body), "the span, its events and its links")
	_, err = DecodeTraces(body, Proto)
	require.ErrorIs(t, err, ErrTooManyRecords)
	assert.ErrorContains(t, err, "spans, span events and links")

	js, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	require.NoError(t, err)
	_, err = DecodeTraces(js, JSON)
	require.ErrorIs(t, err, ErrTooManyRecords)
}

func oneSpanTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("x")
	return td
}

// histogram is a metrics request of one histogram data point with the
// given buckets and attributes.
func histogram(buckets, attrs int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "api")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("latency")
	dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
	for i := 0; i < attrs; i++ {
		dp.Attributes().PutStr(fmt.Sprintf("attr%03d", i), "v")
	}
	for i := 0; i < buckets; i++ {
		dp.BucketCounts().Append(1)
		if i < buckets-1 {
			dp.ExplicitBounds().Append(float64(i))
		}
	}
	dp.SetCount(uint64(buckets))
	return md
}

// TestMetricsBudget: a histogram that would become more labels than a
// request may hold is refused before it is converted (the 100,000
// buckets × 100 attributes, 1.56 GB before); one within it converts, its
// buckets sharing one list of keys; a data point past the label limit is
// refused on its own, naming the limit, and its neighbours are kept.
func TestMetricsBudget(t *testing.T) {
	_, err := Metrics(histogram(100_000, 100))
	require.ErrorIs(t, err, ErrTooManyRecords)
	assert.ErrorContains(t, err, "more than 200000 samples or 4000000 labels")

	res, err := Metrics(histogram(1000, 20))
	require.NoError(t, err)
	require.Equal(t, 1001, len(res.Samples), "_count and 1,000 buckets (no sum)")
	var buckets []domain.Sample
	for _, s := range res.Samples {
		if s.Name == "latency_bucket" {
			buckets = append(buckets, s)
		}
	}
	require.Equal(t, 1000, len(buckets))
	assert.Same(t, &buckets[0].Labels.Keys[0], &buckets[999].Labels.Keys[0], "the buckets share their keys")
	le, _ := buckets[10].Labels.Get("le")
	assert.Equal(t, "10", le)
	le, _ = buckets[999].Labels.Get("le")
	assert.Equal(t, "+Inf", le)
	le, _ = buckets[998].Labels.Get("le")
	assert.Equal(t, "998", le, "each bucket its own value")
	assert.True(t, sort.StringsAreSorted(buckets[0].Labels.Keys))

	wide := histogram(3, 200)
	m := wide.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
	m.SetName("narrow")
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
	res, err = Metrics(wide)
	require.NoError(t, err)
	require.Len(t, res.Rejected, 1)
	assert.Equal(t, `a data point of "latency" has 201 labels, more than the limit of 128`, res.Rejected[0].Reason)
	require.Len(t, res.Samples, 1)
	assert.Equal(t, "narrow", res.Samples[0].Name)
}

// TestCheckDecoded: the count after decoding is the decoder's own, so it
// holds whatever shape the bytes had: 200,001 records in spans, events and
// links are refused, 200,000 are not.
func TestCheckDecoded(t *testing.T) {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	sp := spans.AppendEmpty()
	for i := 0; i < 99_999; i++ {
		sp.Events().AppendEmpty()
	}
	sp2 := spans.AppendEmpty()
	for i := 0; i < 99_999; i++ {
		sp2.Links().AppendEmpty()
	}
	require.NoError(t, CheckTraces(td), "200,000 records")
	spans.AppendEmpty()
	err := CheckTraces(td)
	require.ErrorIs(t, err, ErrTooManyRecords)
	assert.ErrorContains(t, err, "200001 spans, span events and links")

	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i <= MaxRecordsPerRequest; i++ {
		recs.AppendEmpty()
	}
	require.ErrorIs(t, CheckLogs(ld), ErrTooManyRecords)
}

package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/inquest/inquest/config"
)

func tracerProvider(t *testing.T, exp sdktrace.SpanExporter, service string) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service), attribute.String("host.name", "test-host"))))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// TestOTelSDKTracesEndToEnd sends a two-service trace with the real SDK
// exporters over gRPC, OTLP/HTTP on :4318 and OTLP/HTTP with gzip on the
// main port, and reads it back through aggregate, events, trace and
// serviceMap.
func TestOTelSDKTracesEndToEnd(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.Addrs().GRPC), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.Addrs().OTLPHTTP), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	mainExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.Addrs().HTTP), otlptracehttp.WithInsecure(),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	require.NoError(t, err)

	web := tracerProvider(t, grpcExp, "web").Tracer("test")
	db := tracerProvider(t, httpExp, "db").Tracer("test")
	cache := tracerProvider(t, mainExp, "cache").Tracer("test")

	start := time.Now().Add(-time.Minute)
	rctx, root := web.Start(ctx, "GET /checkout", trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/checkout"), attribute.Int("http.response.status_code", 500),
			attribute.String("payment_provider", "stripe_v3")))
	_, q := db.Start(rctx, "SELECT orders", trace.WithTimestamp(start.Add(5*time.Millisecond)), trace.WithSpanKind(trace.SpanKindServer))
	q.SetStatus(codes.Error, "deadlock detected")
	q.RecordError(assertErr("deadlock detected"), trace.WithTimestamp(start.Add(20*time.Millisecond)))
	q.End(trace.WithTimestamp(start.Add(25 * time.Millisecond)))
	_, c := cache.Start(rctx, "GET cart", trace.WithTimestamp(start.Add(30*time.Millisecond)))
	c.End(trace.WithTimestamp(start.Add(32 * time.Millisecond)))
	root.SetStatus(codes.Error, "upstream failed")
	root.End(trace.WithTimestamp(start.Add(100 * time.Millisecond)))
	traceID := root.SpanContext().TraceID().String()

	eventually(t, "three spans stored", func() bool {
		return s.count(t, eq("trace_id", traceID), eq("kind", "span")) == 3
	})

	// aggregate: p99 by service over duration_ms, filtered on an attribute.
	var agg struct {
		Aggregate struct {
			Columns []string
			Groups  []struct {
				Key    []*string
				Values []*float64
			}
		}
	}
	s.gql.MustPost(`query($r: TimeRangeInput!) { aggregate(input: {range: $r, groupBy: ["service"],
		filters: [{field: "kind", op: EQ, value: "span"}],
		aggregations: [{op: COUNT}, {op: MAX, field: "duration_ms"}], orderBy: [{by: "service"}]}) { columns groups { key values } } }`,
		&agg, client.Var("r", lastHour))
	require.Len(t, agg.Aggregate.Groups, 3)
	assert.Equal(t, "cache", *agg.Aggregate.Groups[0].Key[0])
	assert.Equal(t, "web", *agg.Aggregate.Groups[2].Key[0])
	assert.InDelta(t, 100.0, *agg.Aggregate.Groups[2].Values[1], 0.001)

	// events: the root span with its typed attribute.
	var ev struct {
		Events struct {
			Events []struct {
				Name, Service, Status string
				DurationMs            float64
				Attributes            []struct{ Key, Value string }
				Resource              []struct{ Key, Value string }
			}
		}
	}
	s.gql.MustPost(`query($r: TimeRangeInput!) { events(range: $r, filters: [{field: "attr.http.response.status_code", op: GE, value: "500"}]) {
		events { name service status durationMs attributes { key value } resource { key value } } } }`, &ev, client.Var("r", lastHour))
	require.Len(t, ev.Events.Events, 1)
	got := ev.Events.Events[0]
	assert.Equal(t, "GET /checkout", got.Name)
	assert.Equal(t, "error", got.Status)
	assert.Contains(t, got.Attributes, struct{ Key, Value string }{"payment_provider", "stripe_v3"})
	assert.Contains(t, got.Resource, struct{ Key, Value string }{"host.name", "test-host"})

	// trace: a waterfall with depths.
	var tr struct {
		Trace struct {
			SpanCount, ErrorCount int
			RootService           string
			DurationMs            float64
			Spans                 []struct {
				Depth    int
				OffsetMs float64
				Span     struct{ Service string }
			}
		}
	}
	s.gql.MustPost(`query($id: ID!) { trace(id: $id) { spanCount errorCount rootService durationMs spans { depth offsetMs span { service } } } }`,
		&tr, client.Var("id", traceID))
	assert.Equal(t, 3, tr.Trace.SpanCount)
	assert.Equal(t, 2, tr.Trace.ErrorCount)
	assert.Equal(t, "web", tr.Trace.RootService)
	assert.InDelta(t, 100.0, tr.Trace.DurationMs, 0.001)
	require.Len(t, tr.Trace.Spans, 3)
	assert.Equal(t, 0, tr.Trace.Spans[0].Depth)
	assert.Equal(t, "db", tr.Trace.Spans[1].Span.Service)
	assert.Equal(t, 1, tr.Trace.Spans[1].Depth)
	assert.InDelta(t, 5.0, tr.Trace.Spans[1].OffsetMs, 0.001)

	// The exception event became a log linked to the span.
	assert.Equal(t, 1.0, s.count(t, eq("trace_id", traceID), eq("kind", "log"), eq("body", "deadlock detected")))

	// serviceMap: web → db and web → cache.
	var sm struct {
		ServiceMap struct {
			Nodes []struct{ Name string }
			Edges []struct {
				Source, Target string
				Calls, Errors  int
			}
		}
	}
	s.gql.MustPost(`query($r: TimeRangeInput!) { serviceMap(range: $r) { nodes { name } edges { source target calls errors } } }`,
		&sm, client.Var("r", lastHour))
	assert.Len(t, sm.ServiceMap.Nodes, 3)
	assert.ElementsMatch(t, []struct {
		Source, Target string
		Calls, Errors  int
	}{{"web", "cache", 1, 0}, {"web", "db", 1, 1}}, sm.ServiceMap.Edges)

	// An unknown trace is null, not an error.
	var none struct{ Trace *struct{ SpanCount int } }
	s.gql.MustPost(`{ trace(id: "00000000000000000000000000000001") { spanCount } }`, &none)
	assert.Nil(t, none.Trace)
}

type assertErr string

func (e assertErr) Error() string { return string(e) }

// TestOTelSDKLogsAndMetrics sends logs and metrics with the SDK exporters
// over both transports and reads them back.
func TestOTelSDKLogsAndMetrics(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	res := resource.NewSchemaless(semconv.ServiceName("billing"), semconv.ServiceInstanceID("billing-1"))

	lg, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(s.Addrs().GRPC), otlploggrpc.WithInsecure())
	require.NoError(t, err)
	lh, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(s.Addrs().OTLPHTTP), otlploghttp.WithInsecure())
	require.NoError(t, err)
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewSimpleProcessor(lg)), sdklog.WithProcessor(sdklog.NewSimpleProcessor(lh)))
	defer func() { _ = lp.Shutdown(ctx) }()
	var rec otellog.Record
	rec.SetTimestamp(time.Now())
	rec.SetSeverity(otellog.SeverityError)
	rec.SetSeverityText("ERROR")
	rec.SetBody(attribute.StringValue("invoice 42 failed"))
	rec.AddAttributes(attribute.String("customer", "acme"))
	lp.Logger("test").Emit(ctx, rec)
	require.NoError(t, lp.ForceFlush(ctx))
	// Both transports delivered the same record: dedup keeps one.
	eventually(t, "log stored", func() bool {
		return s.count(t, eq("kind", "log"), eq("service", "billing"), eq("attr.customer", "acme"), eq("status", "error")) == 1
	})

	mg, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(s.Addrs().GRPC), otlpmetricgrpc.WithInsecure())
	require.NoError(t, err)
	mh, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(s.Addrs().HTTP), otlpmetrichttp.WithInsecure())
	require.NoError(t, err)
	defer func() { _ = mg.Shutdown(ctx); _ = mh.Shutdown(ctx) }() // their gRPC and HTTP connections
	readerG := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(readerG))
	meter := mp.Meter("test")
	counter, err := meter.Int64Counter("invoices")
	require.NoError(t, err)
	hist, err := meter.Float64Histogram("invoice.duration", metric.WithExplicitBucketBoundaries(0.1, 1))
	require.NoError(t, err)
	counter.Add(ctx, 5, metric.WithAttributes(attribute.String("plan", "pro")))
	hist.Record(ctx, 0.5)
	hist.Record(ctx, 2)
	var rm metricdata.ResourceMetrics
	require.NoError(t, readerG.Collect(ctx, &rm))
	require.NoError(t, mg.Export(ctx, &rm))
	counter.Add(ctx, 3, metric.WithAttributes(attribute.String("plan", "pro")))
	require.NoError(t, readerG.Collect(ctx, &rm))
	require.NoError(t, mh.Export(ctx, &rm))

	type series struct {
		Name   string
		Type   *string
		Labels []struct{ Key, Value string }
		Points []struct{ Value float64 }
	}
	var ms struct{ MetricSeries []series }
	eventually(t, "counter stored twice", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "invoices", range: $r, step: "2h", function: MAX}) {
			name type labels { key value } points { value } } }`, &ms, client.Var("r", lastHour))
		return len(ms.MetricSeries) == 1 && len(ms.MetricSeries[0].Points) > 0 && ms.MetricSeries[0].Points[0].Value == 8
	})
	got := ms.MetricSeries[0]
	assert.Equal(t, "counter", *got.Type)
	assert.Contains(t, got.Labels, struct{ Key, Value string }{"job", "billing"})
	assert.Contains(t, got.Labels, struct{ Key, Value string }{"plan", "pro"})

	var buckets struct{ MetricSeries []series }
	s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "invoice.duration_bucket", range: $r, step: "2h", function: LAST,
		matchers: [{name: "le", op: EQ, value: "1"}]}) { points { value } } }`, &buckets, client.Var("r", lastHour))
	require.Len(t, buckets.MetricSeries, 1)
	assert.Equal(t, 1.0, buckets.MetricSeries[0].Points[0].Value, "one observation at or below 1")

	var names struct{ MetricNames []string }
	s.gql.MustPost(`query($r: TimeRangeInput!) { metricNames(range: $r) }`, &names, client.Var("r", lastHour))
	assert.Subset(t, names.MetricNames, []string{"invoices", "invoice.duration_count", "invoice.duration_sum", "invoice.duration_bucket"})
}

// TestMetricResourceAttributes: with --metric-resource-attribute set, the
// named resource attributes label an OTel SDK's metric series (sent over
// OTLP/HTTP) and the others go on target_info, as Prometheus does.
func TestMetricResourceAttributes(t *testing.T) {
	s := start(t, func(c *config.Config) { c.MetricResourceAttributes = []string{"deployment.environment"} })
	ctx := context.Background()
	res := resource.NewSchemaless(semconv.ServiceName("ledger"), attribute.String("deployment.environment", "prod"),
		attribute.String("k8s.pod.name", "ledger-7d9f-x2"))
	exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(s.Addrs().HTTP), otlpmetrichttp.WithInsecure())
	require.NoError(t, err)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
	g, err := mp.Meter("test").Int64Gauge("ledger.queue")
	require.NoError(t, err)
	g.Record(ctx, 7)
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	require.NoError(t, exp.Export(ctx, &rm))

	type label struct{ Key, Value string }
	var ms struct {
		MetricSeries []struct{ Labels []label }
	}
	eventually(t, "the gauge stored", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "ledger.queue", range: $r, step: "2h", function: LAST}) { labels { key value } } }`,
			&ms, client.Var("r", lastHour))
		return len(ms.MetricSeries) == 1
	})
	assert.Contains(t, ms.MetricSeries[0].Labels, label{"deployment.environment", "prod"}, "the configured attribute labels the series")
	assert.NotContains(t, ms.MetricSeries[0].Labels, label{"k8s.pod.name", "ledger-7d9f-x2"}, "only the configured ones")
	s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "target_info", range: $r, step: "2h", function: LAST,
		matchers: [{name: "job", op: EQ, value: "ledger"}]}) { labels { key value } } }`, &ms, client.Var("r", lastHour))
	require.Len(t, ms.MetricSeries, 1)
	assert.Contains(t, ms.MetricSeries[0].Labels, label{"k8s.pod.name", "ledger-7d9f-x2"}, "the rest of the resource is on target_info")
}

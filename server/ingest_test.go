package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompbmarshal"
	"github.com/klauspost/compress/snappy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/storage/duckdb"
)

func post(t *testing.T, url, contentType string, body []byte, headers ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

type deadLetter struct {
	ID, Source, Format, Reason, PayloadPreview string
	PayloadSize                                int
	ReplayedAt                                 *string
}

// deadLetters lists the last hour's dead letters still to deal with, and
// with replayed those already replayed too.
func (s *testServer) deadLetters(t *testing.T, replayed ...bool) []deadLetter {
	t.Helper()
	var resp struct{ DeadLetters []deadLetter }
	s.gql.MustPost(`query($r: TimeRangeInput!, $all: Boolean) { deadLetters(range: $r, includeReplayed: $all) { id source format reason payloadPreview payloadSize replayedAt } }`,
		&resp, client.Var("r", lastHour), client.Var("all", len(replayed) > 0 && replayed[0]))
	return resp.DeadLetters
}

func findDead(dls []deadLetter, reasonPart string) *deadLetter {
	for i := range dls {
		if strings.Contains(dls[i].Reason, reasonPart) {
			return &dls[i]
		}
	}
	return nil
}

func remoteWrite(t *testing.T, series ...prompbmarshal.TimeSeries) []byte {
	t.Helper()
	wr := prompbmarshal.WriteRequest{Timeseries: series}
	return snappy.Encode(nil, wr.MarshalProtobuf(nil))
}

// rwSeries is one remote-write series with a sample a second ago.
func rwSeries(name, label, value string, now time.Time) prompbmarshal.TimeSeries {
	return prompbmarshal.TimeSeries{
		Labels:  []prompbmarshal.Label{{Name: "__name__", Value: name}, {Name: label, Value: value}},
		Samples: []prompbmarshal.Sample{{Value: 1, Timestamp: now.Add(-time.Second).UnixMilli()}},
	}
}

func TestRemoteWrite(t *testing.T) {
	s := start(t)
	now := time.Now().UnixMilli()
	body := remoteWrite(t,
		prompbmarshal.TimeSeries{
			Labels:  []prompbmarshal.Label{{Name: "__name__", Value: "node_load1"}, {Name: "instance", Value: "a:9100"}, {Name: "job", Value: "node"}},
			Samples: []prompbmarshal.Sample{{Value: 0.5, Timestamp: now - 2000}, {Value: 1.5, Timestamp: now - 1000}},
		},
		prompbmarshal.TimeSeries{
			Labels:  []prompbmarshal.Label{{Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: "200"}},
			Samples: []prompbmarshal.Sample{{Value: 10, Timestamp: now - 2000}, {Value: math.Float64frombits(0x7ff0000000000002), Timestamp: now - 1000}},
		})
	code, msg, _ := post(t, s.url("/api/v1/write"), "application/x-protobuf", body,
		"Content-Encoding", "snappy", "X-Prometheus-Remote-Write-Version", "0.1.0")
	require.Equal(t, http.StatusNoContent, code, msg)

	var ms struct {
		MetricSeries []struct {
			Type   string
			Labels []struct{ Key, Value string }
			Points []struct{ Value float64 }
		}
	}
	eventually(t, "samples stored", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "node_load1", range: $r, step: "1h", function: MAX,
			matchers: [{name: "job", op: RE, value: "no.*"}]}) { type labels { key value } points { value } } }`, &ms, client.Var("r", lastHour))
		return len(ms.MetricSeries) == 1 && ms.MetricSeries[0].Points[0].Value == 1.5
	})
	assert.Equal(t, "gauge", ms.MetricSeries[0].Type)
	assert.Contains(t, ms.MetricSeries[0].Labels, struct{ Key, Value string }{"instance", "a:9100"})
	// The staleness marker is stored (it ends the series) but is no value:
	// a query counts only the 10.
	s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "http_requests_total", range: $r, step: "1h", function: COUNT}) {
		type labels { key value } points { value } } }`, &ms, client.Var("r", lastHour))
	require.Len(t, ms.MetricSeries, 1)
	assert.Equal(t, 1.0, ms.MetricSeries[0].Points[0].Value)
	assert.Equal(t, "counter", ms.MetricSeries[0].Type)
}

// TestMetricStepInProgress reads a metric through the query cache, as a
// dashboard does, with a step of five minutes: a sample sent a moment ago
// lies in the step filling now, which is answered and marked partial, while
// a step wholly in the past is not partial.
func TestMetricStepInProgress(t *testing.T) {
	s := start(t, func(c *config.Config) { c.QueryCache = true })
	const step = 5 * time.Minute
	now := time.Now()
	cur := now.Truncate(step)
	body := remoteWrite(t, prompbmarshal.TimeSeries{
		Labels:  []prompbmarshal.Label{{Name: "__name__", Value: "queue_depth"}},
		Samples: []prompbmarshal.Sample{{Value: 3, Timestamp: cur.Add(-step).UnixMilli()}, {Value: 8, Timestamp: cur.Add(now.Sub(cur) / 2).UnixMilli()}},
	})
	code, msg, _ := post(t, s.url("/api/v1/write"), "application/x-protobuf", body, "Content-Encoding", "snappy")
	require.Equal(t, http.StatusNoContent, code, msg)
	var ms struct {
		MetricSeries []struct {
			Points []struct {
				TimeUnixNano int64
				Value        float64
				Partial      bool
			}
		}
	}
	r := map[string]any{"from": cur.Add(-time.Hour).Format(time.RFC3339Nano), "to": "now"}
	eventually(t, "the step filling now is answered", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "queue_depth", range: $r, step: "5m", function: MAX}) { points { timeUnixNano value partial } } }`,
			&ms, client.Var("r", r))
		return len(ms.MetricSeries) == 1 && len(ms.MetricSeries[0].Points) == 2
	})
	done, filling := ms.MetricSeries[0].Points[0], ms.MetricSeries[0].Points[1]
	assert.Equal(t, cur.Add(-step).UnixNano(), done.TimeUnixNano)
	assert.Equal(t, 3.0, done.Value)
	assert.False(t, done.Partial, "a step in the past is whole")
	assert.Equal(t, cur.UnixNano(), filling.TimeUnixNano)
	assert.Equal(t, 8.0, filling.Value)
	if time.Now().Before(cur.Add(step)) { // else the step ended while the test ran
		assert.True(t, filling.Partial, "the step filling now is marked partial")
	}
}

// TestBadInputs sends each kind of bad input and checks the clear 4xx, the
// dead letter where a record could be identified, and that valid records
// in the same request are kept.
func TestBadInputs(t *testing.T) {
	s := start(t)
	now := time.Now()

	t.Run("truncated protobuf", func(t *testing.T) {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetName("x")
		sp.SetTraceID([16]byte{1})
		sp.SetSpanID([8]byte{1})
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		require.NoError(t, err)
		code, msg, hdr := post(t, s.url("/v1/traces"), "application/x-protobuf", b[:len(b)-3])
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Equal(t, "application/x-protobuf", hdr.Get("Content-Type"))
		assert.Contains(t, msg, "decode OTLP traces")
		dl := findDead(s.deadLetters(t), "decode OTLP traces")
		require.NotNil(t, dl)
		assert.Equal(t, "otlp-traces-proto", dl.Format)
		assert.Equal(t, len(b)-3, dl.PayloadSize)
	})

	t.Run("wrong content type", func(t *testing.T) {
		code, msg, _ := post(t, s.url("/v1/traces"), "text/csv", []byte("a,b"))
		assert.Equal(t, http.StatusUnsupportedMediaType, code)
		assert.Contains(t, msg, "text/csv")
		code, msg, _ = post(t, s.url("/v1/events"), "application/xml", []byte("<a/>"))
		assert.Equal(t, http.StatusUnsupportedMediaType, code)
		assert.Contains(t, msg, "application/xml")
		code, _, _ = post(t, s.url("/v1/traces"), "application/json", []byte(`{}`), "Content-Encoding", "br")
		assert.Equal(t, http.StatusUnsupportedMediaType, code)
	})

	t.Run("NaN, Inf and staleness markers are values Prometheus sends", func(t *testing.T) {
		body := remoteWrite(t, prompbmarshal.TimeSeries{
			Labels: []prompbmarshal.Label{{Name: "__name__", Value: "nan_test"}},
			Samples: []prompbmarshal.Sample{{Value: math.NaN(), Timestamp: now.UnixMilli() - 3000}, {Value: math.Inf(1), Timestamp: now.UnixMilli() - 2000},
				{Value: 7, Timestamp: now.UnixMilli() - 1000}, {Value: math.Float64frombits(0x7ff0000000000002), Timestamp: now.UnixMilli()}},
		})
		code, msg, _ := post(t, s.url("/api/v1/write"), "application/x-protobuf", body, "Content-Encoding", "snappy")
		assert.Equal(t, http.StatusNoContent, code, msg)
		assert.Nil(t, findDead(s.deadLetters(t), "nan_test"), "nothing refused")
		var ms struct {
			MetricSeries []struct{ Points []struct{ Value float64 } }
		}
		eventually(t, "the finite sample is the only value a query sees", func() bool {
			s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "nan_test", range: $r, step: "1h", function: COUNT}) { points { value } } }`,
				&ms, client.Var("r", lastHour))
			return len(ms.MetricSeries) == 1 && ms.MetricSeries[0].Points[0].Value == 1
		})
		s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "nan_test", range: $r, step: "1h", function: AVG}) { points { value } } }`,
			&ms, client.Var("r", lastHour))
		assert.Equal(t, 7.0, ms.MetricSeries[0].Points[0].Value)
	})

	t.Run("a refused sample does not fail the batch", func(t *testing.T) {
		body := remoteWrite(t, prompbmarshal.TimeSeries{
			Labels:  []prompbmarshal.Label{{Name: "__name__", Value: "partial_test"}},
			Samples: []prompbmarshal.Sample{{Value: 1, Timestamp: now.Add(48 * time.Hour).UnixMilli()}, {Value: 7, Timestamp: now.UnixMilli()}},
		})
		code, msg, _ := post(t, s.url("/api/v1/write"), "application/x-protobuf", body, "Content-Encoding", "snappy")
		assert.Equal(t, http.StatusNoContent, code, "Prometheus drops a whole batch on a 400: %s", msg)
		dl := findDead(s.deadLetters(t), "partial_test")
		require.NotNil(t, dl, "the refused sample is a dead letter")
		assert.Contains(t, dl.Reason, "in the future")
		assert.Equal(t, "json-samples", dl.Format)
		var ms struct {
			MetricSeries []struct{ Points []struct{ Value float64 } }
		}
		eventually(t, "valid sample kept", func() bool {
			s.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "partial_test", range: $r, step: "1h", function: LAST}) { points { value } } }`,
				&ms, client.Var("r", lastHour))
			return len(ms.MetricSeries) == 1 && ms.MetricSeries[0].Points[0].Value == 7
		})
		// Only when nothing of the request can be stored is the answer a 400.
		body = remoteWrite(t, prompbmarshal.TimeSeries{
			Labels:  []prompbmarshal.Label{{Name: "__name__", Value: "partial_test"}},
			Samples: []prompbmarshal.Sample{{Value: 1, Timestamp: now.Add(48 * time.Hour).UnixMilli()}},
		})
		code, msg, _ = post(t, s.url("/api/v1/write"), "application/x-protobuf", body, "Content-Encoding", "snappy")
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, msg, "in the future")
	})

	t.Run("timestamp far in the future", func(t *testing.T) {
		body := fmt.Sprintf(`{"timestamp": %q, "service": "svc-future", "name": "ok-event"}
{"timestamp": %q, "service": "svc-future", "name": "future-event"}`,
			now.Format(time.RFC3339Nano), now.Add(48*time.Hour).Format(time.RFC3339Nano))
		code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(body))
		assert.Equal(t, http.StatusOK, code, "part of the request was stored")
		var sum struct {
			Accepted, Rejected int
			Errors             []string
		}
		require.NoError(t, json.Unmarshal([]byte(msg), &sum))
		assert.Equal(t, 1, sum.Accepted)
		assert.Equal(t, 1, sum.Rejected)
		assert.Contains(t, sum.Errors[0], "in the future")
		dl := findDead(s.deadLetters(t), "in the future")
		require.NotNil(t, dl)
		assert.Contains(t, dl.PayloadPreview, "future-event")
		eventually(t, "valid event kept", func() bool { return s.count(t, eq("service", "svc-future")) == 1 })
	})

	t.Run("10 MB of junk", func(t *testing.T) {
		junk := make([]byte, 10<<20)
		_, _ = rand.Read(junk)
		junk[0] = 0xff // not '{', '[' nor a protobuf that decodes
		code, msg, _ := post(t, s.url("/v1/ingest"), "application/octet-stream", junk)
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, msg, "unrecognised payload")
		dl := findDead(s.deadLetters(t), "unrecognised payload")
		require.NotNil(t, dl)
		assert.Equal(t, 1<<20, dl.PayloadSize, "kept, truncated to 1 MiB")
		big := make([]byte, 17<<20)
		code, _, _ = post(t, s.url("/v1/events"), "application/json", big)
		assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	})

	t.Run("OTLP partial success", func(t *testing.T) {
		body := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc-partial"}}]},
			"scopeSpans":[{"spans":[
			 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"good","startTimeUnixNano":"%d","endTimeUnixNano":"%d"},
			 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","name":"backwards","startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`,
			now.UnixNano(), now.UnixNano()+1e6, now.UnixNano(), now.UnixNano()-1e6)
		code, msg, _ := post(t, s.url("/v1/traces"), "application/json", []byte(body))
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, msg, `"rejectedSpans":"1"`)
		assert.Contains(t, msg, "ends before it starts")
		eventually(t, "good span kept", func() bool { return s.count(t, eq("service", "svc-partial")) == 1 })
	})

	t.Run("malformed JSON keeps what came before", func(t *testing.T) {
		body := `{"service": "svc-trunc", "name": "first"}
{"service": "svc-trunc", "name": "sec`
		code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(body))
		assert.Equal(t, http.StatusOK, code, "the first record was stored")
		assert.Contains(t, msg, "line 2 skipped")
		assert.Contains(t, msg, `"rejected":1`)
		eventually(t, "first event kept", func() bool { return s.count(t, eq("service", "svc-trunc")) == 1 })
	})

	t.Run("a malformed line costs only itself", func(t *testing.T) {
		body := `{"service": "svc-lines", "name": "first"}
{"service": "svc-lines", "na
not json
{"service": "svc-lines", "name": "after"}
`
		code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(body))
		assert.Equal(t, http.StatusOK, code, msg)
		assert.Contains(t, msg, "line 2 skipped")
		assert.Contains(t, msg, "line 3 skipped")
		assert.Contains(t, msg, `"accepted":2`)
		assert.Contains(t, msg, `"rejected":2`)
		eventually(t, "the lines before and after kept", func() bool { return s.count(t, eq("service", "svc-lines")) == 2 })
	})

	t.Run("one bad line among 250 and more reasons than are listed", func(t *testing.T) {
		// The reproduction of issue #25: one malformed NDJSON line in
		// 250, with seven records refused for other reasons besides. Every
		// valid line is stored; the bad line is a dead letter of its own
		// with its reason, named first in the answer however many other
		// reasons there are; replaying it says what is still wrong.
		var b strings.Builder
		for i := 0; i < 250; i++ {
			switch {
			case i == 120:
				b.WriteString(`{"service": "svc-250", "name": "broken` + "\n")
			case i%40 == 7:
				fmt.Fprintf(&b, `{"service":"svc-250","name":"bad-%d","duration_ms":"slow-%d"}`+"\n", i, i)
			default:
				fmt.Fprintf(&b, `{"service":"svc-250","name":"ok-%d"}`+"\n", i)
			}
		}
		code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(b.String()))
		assert.Equal(t, http.StatusOK, code, msg)
		var sum struct {
			Accepted, Rejected int
			Errors             []string
		}
		require.NoError(t, json.Unmarshal([]byte(msg), &sum), msg)
		assert.Equal(t, 242, sum.Accepted, "every valid line")
		assert.Equal(t, 8, sum.Rejected, "the broken line and seven records with a bad field")
		require.NotEmpty(t, sum.Errors)
		assert.Contains(t, sum.Errors[0], "line 121 skipped", "the line the decoder could not read is named first")
		eventually(t, "every valid line stored", func() bool { return s.count(t, eq("service", "svc-250")) == 242 })
		dl := findDead(s.deadLetters(t), "line 121 skipped")
		require.NotNil(t, dl, "the bad line is a dead letter")
		assert.Equal(t, `{"service": "svc-250", "name": "broken`, dl.PayloadPreview, "the line alone, not the rest of the request")
		var r struct{ ReplayDeadLetter struct{ Accepted int } }
		err := s.gql.Post(`mutation($id: ID!) { replayDeadLetter(id: $id) { accepted } }`, &r, client.Var("id", dl.ID))
		require.Error(t, err, "the line is still broken")
		assert.Contains(t, err.Error(), "dead letter cannot be replayed: decode JSON events")
		assert.Contains(t, err.Error(), "BAD_USER_INPUT", "the sender's data, not an internal error")
	})

	t.Run("records that are not objects", func(t *testing.T) {
		code, msg, _ := post(t, s.url("/v1/events"), "application/json", []byte(`[{"service":"svc-arr","name":"a"}, 42, {"service":"svc-arr"}]`))
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, msg, "not a JSON object")
		assert.Contains(t, msg, "missing name")
		assert.Contains(t, msg, `"accepted":1`)
	})
}

// TestIngestAutodetect posts each format to /v1/ingest without saying which
// it is, one of them gzip-compressed without a Content-Encoding header.
func TestIngestAutodetect(t *testing.T) {
	s := start(t)
	now := time.Now()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = fmt.Fprintf(zw, `{"service": "svc-auto", "name": "from-gzip", "timestamp": %q}`, now.Format(time.RFC3339Nano))
	require.NoError(t, zw.Close())
	zipkin := fmt.Sprintf(`[{"traceId":"aa","id":"1","name":"zipkin-span","timestamp":%d,"duration":5,"localEndpoint":{"serviceName":"svc-auto"}}]`, now.UnixMicro())
	for _, c := range []struct {
		ct     string
		body   []byte
		format string
	}{
		{"application/octet-stream", gz.Bytes(), "json-events"},
		{"", []byte(zipkin), "zipkin-json"},
	} {
		code, msg, _ := post(t, s.url("/v1/ingest"), c.ct, c.body)
		require.Equal(t, http.StatusOK, code, msg)
		assert.Contains(t, msg, `"format":"`+c.format+`"`)
	}
	eventually(t, "both stored", func() bool { return s.count(t, eq("service", "svc-auto")) == 2 })
}

func TestDedupAndReplay(t *testing.T) {
	s := start(t)
	ev := []byte(fmt.Sprintf(`{"timestamp": %q, "service": "svc-dup", "name": "once", "user": "ann"}`, time.Now().Format(time.RFC3339Nano)))
	code, msg, _ := post(t, s.url("/v1/events"), "application/json", ev)
	require.Equal(t, http.StatusOK, code, msg)
	code, msg, _ = post(t, s.url("/v1/events"), "application/json", ev)
	require.Equal(t, http.StatusOK, code, msg)
	assert.Contains(t, msg, `"duplicates":1`)
	eventually(t, "stored once", func() bool { return s.count(t, eq("service", "svc-dup")) == 1 })

	// Older than the retention: refused live, kept in the dead-letter queue,
	// and refused again when replayed (a replay meets the rules its records
	// first met): the dead letter stays listed, to be dealt with.
	old := []byte(fmt.Sprintf(`{"timestamp": %q, "service": "svc-old", "name": "late"}`, time.Now().Add(-8*24*time.Hour).Format(time.RFC3339)))
	code, msg, _ = post(t, s.url("/v1/events"), "application/json", old)
	require.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, msg, "older than the retention")
	dl := findDead(s.deadLetters(t), "older than the retention")
	require.NotNil(t, dl)
	r := s.replay(dl.ID)
	assert.Equal(t, 0, r.Accepted)
	assert.Equal(t, 1, r.Rejected)
	assert.Contains(t, strings.Join(r.Errors, "; "), "older than the retention")
	still := findDead(s.deadLetters(t), "older than the retention")
	require.NotNil(t, still, "still to be dealt with")
	assert.Nil(t, still.ReplayedAt)
	var all struct {
		Aggregate struct{ Groups []struct{ Values []float64 } }
	}
	s.gql.MustPost(`{ aggregate(input: {range: {from: "now-9d", to: "now"}, filters: [{field: "service", op: EQ, value: "svc-old"}]}) { groups { values } } }`, &all)
	require.Len(t, all.Aggregate.Groups, 1)
	assert.Zero(t, all.Aggregate.Groups[0].Values[0], "nothing of it stored")

	var out map[string]any
	err := s.gql.Post(`mutation { replayDeadLetter(id: "nope") { accepted } }`, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `dead letter \"nope\" not found`)
}

// TestReplayLandsAndLeavesTheList: an event refused for a clock ahead of the
// server's goes in when replayed once the server's clock has caught up; its
// dead letter then leaves the list (shown with includeReplayed), and a second
// replay is refused with a clear message.
func TestReplayLandsAndLeavesTheList(t *testing.T) {
	s := start(t, func(c *config.Config) { c.MaxFuture = time.Second })
	ahead := []byte(fmt.Sprintf(`{"timestamp": %q, "service": "svc-ahead", "name": "early"}`, time.Now().Add(3*time.Second).Format(time.RFC3339Nano)))
	code, msg, _ := post(t, s.url("/v1/events"), "application/json", ahead)
	require.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, msg, "in the future")
	dl := findDead(s.deadLetters(t), "in the future")
	require.NotNil(t, dl)
	eventually(t, "replayed once the clock caught up", func() bool { return s.replay(dl.ID).Accepted == 1 })
	eventually(t, "replayed event stored", func() bool { return s.count(t, eq("service", "svc-ahead")) == 1 })
	assert.Nil(t, findDead(s.deadLetters(t), "in the future"), "a dead letter that landed leaves the list")
	kept := findDead(s.deadLetters(t, true), "in the future")
	require.NotNil(t, kept, "and is kept for the record")
	assert.NotNil(t, kept.ReplayedAt)
	var out map[string]any
	err := s.gql.Post(`mutation($id: ID!) { replayDeadLetter(id: $id) { accepted } }`, &out, client.Var("id", dl.ID))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already replayed")
}

type replayResult struct {
	Accepted, Rejected int
	Errors             []string
}

// replay replays a dead letter through GraphQL.
func (s *testServer) replay(id string) replayResult {
	var r struct{ ReplayDeadLetter replayResult }
	s.gql.MustPost(`mutation($id: ID!) { replayDeadLetter(id: $id) { accepted rejected errors } }`, &r, client.Var("id", id))
	return r.ReplayDeadLetter
}

// TestShutdownFlushes accepts events that wait in a writer batch and checks
// that a graceful shutdown writes them.
func TestShutdownFlushes(t *testing.T) {
	cfg := config.Default()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.OTLPHTTPAddr = "127.0.0.1:0", "", ""
	cfg.DataDir = t.TempDir()
	cfg.FlushInterval = time.Hour // nothing is flushed by time
	s := start(t, func(c *config.Config) { *c = cfg })
	var lines []string
	for i := range 500 {
		lines = append(lines, fmt.Sprintf(`{"service": "svc-flush", "name": "e%d"}`, i))
	}
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(strings.Join(lines, "\n")))
	require.Equal(t, http.StatusOK, code, msg)
	assert.Equal(t, 0.0, s.count(t, eq("service", "svc-flush")), "still in the writer's batch")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx))

	store, err := duckdb.Open(ctx, duckdb.Config{Path: cfg.DataDir + "/inquest.duckdb"}, nil)
	require.NoError(t, err)
	defer store.Close()
	var n int
	require.NoError(t, store.DB().QueryRow("SELECT count(*) FROM events WHERE service = 'svc-flush'").Scan(&n))
	assert.Equal(t, 500, n)
}

// A web page must not be able to write into a local Inquest: browsers send
// Origin on cross-origin posts, which ingest refuses.
func TestCrossOriginIngestRefused(t *testing.T) {
	s := start(t)
	ev := []byte(`{"service": "svc-csrf", "name": "n"}`)
	code, msg, _ := post(t, s.url("/v1/ingest"), "text/plain", ev, "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, msg, "--allowed-origins")
	code, _, _ = post(t, s.url("/v1/ingest"), "text/plain", ev, "Origin", "http://"+s.Addrs().HTTP)
	assert.Equal(t, http.StatusOK, code, "same origin is fine")
	code, _, _ = post(t, "http://"+s.Addrs().OTLPHTTP+"/v1/traces", "application/json", []byte(`{}`), "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, code)
}

func TestHealthAndMetrics(t *testing.T) {
	s := start(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(s.url(p))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, p)
	}
	code, _, _ := post(t, s.url("/v1/events"), "application/json", []byte(`{"service": "m", "name": "n"}`))
	require.Equal(t, http.StatusOK, code)
	resp, err := http.Get(s.url("/metrics"))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	text := string(b)
	for _, m := range []string{`inquest_ingest_records_total{outcome="accepted",signal="events"} 1`, "inquest_http_request_duration_seconds_bucket",
		`inquest_http_requests_total{code="200",route="/v1/events"} 1`, "inquest_ingest_queue_records", "go_goroutines"} {
		assert.Contains(t, text, m)
	}
	// GET /graphql from a browser is GraphiQL.
	req, _ := http.NewRequest(http.MethodGet, s.url("/graphql"), nil)
	req.Header.Set("Accept", "text/html")
	resp2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	assert.Contains(t, string(page), "graphiql")
	// The dashboard page.
	resp3, err := http.Get(s.url("/"))
	require.NoError(t, err)
	page, _ = io.ReadAll(resp3.Body)
	resp3.Body.Close()
	assert.Contains(t, string(page), "<title>Inquest</title>")
}

// The profiler is on its own loopback listener when asked for, and never
// on the API's port.
func TestPprofOnItsOwnListener(t *testing.T) {
	var logged bytes.Buffer
	s := startLogged(t, testConfig(t, func(c *config.Config) { c.PprofAddr = "127.0.0.1:0" }), slog.New(slog.NewTextHandler(&logged, nil)))
	require.NotEmpty(t, s.Addrs().Pprof)
	assert.Contains(t, logged.String(), "pprof="+s.Addrs().Pprof, "the ready line tells the port the kernel chose")
	resp, err := http.Get("http://" + s.Addrs().Pprof + "/debug/pprof/goroutine?debug=1")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "goroutine profile")

	resp, err = http.Get(s.url("/debug/pprof/"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, "the API's port does not serve the profiler")
}

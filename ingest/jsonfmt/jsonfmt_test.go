package jsonfmt

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

var now = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func TestTimestamps(t *testing.T) {
	want := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC).UnixNano()
	f := func(ts string) {
		t.Helper()
		res, err := Decode([]byte(`{"service":"s","name":"n","timestamp":`+ts+`}`), now)
		require.NoError(t, err)
		require.Len(t, res.Events, 1, ts)
		assert.Equal(t, want, res.Events[0].TimeUnixNano, ts)
	}
	f(`"2026-11-20T12:00:00Z"`)
	f(`"2026-11-20T13:00:00+01:00"`)
	f(`1795176000`)          // seconds
	f(`1795176000.0`)        // seconds, float
	f(`1795176000000`)       // milliseconds
	f(`1795176000000000`)    // microseconds
	f(`1795176000000000000`) // nanoseconds
	f(`"1795176000000"`)     // a number in a string
	res, err := Decode([]byte(`{"service":"s","name":"n"}`), now)
	require.NoError(t, err)
	assert.Equal(t, now.UnixNano(), res.Events[0].TimeUnixNano, "missing timestamp is the time of receipt")
}

func TestShapesAndKinds(t *testing.T) {
	res, err := Decode([]byte(`[{"service":"a","name":"x"},{"service":"b","name":"y"}]`), now)
	require.NoError(t, err)
	assert.Len(t, res.Events, 2)
	res, err = Decode([]byte("{\"service\":\"a\",\"name\":\"x\"}\n\n{\"service\":\"b\",\"name\":\"y\"}\n"), now)
	require.NoError(t, err)
	assert.Len(t, res.Events, 2)

	res, err = Decode([]byte(`{"service":"api","message":"boom","level":"error","http":{"status":500,"route":"/x"},"tags":["a","b"],"ok":true,"none":null}`), now)
	require.NoError(t, err)
	e := res.Events[0]
	assert.Equal(t, domain.KindLog, e.Kind)
	assert.Equal(t, "log", e.Name)
	assert.Equal(t, domain.StatusError, e.Status)
	v, _ := e.NumAttrs.Get("http.status")
	assert.Equal(t, 500.0, v, "nested objects flatten with dots")
	s, _ := e.Attrs.Get("http.status")
	assert.Equal(t, "500", s)
	s, _ = e.Attrs.Get("tags")
	assert.Equal(t, `["a","b"]`, s)
	s, _ = e.Attrs.Get("ok")
	assert.Equal(t, "true", s)
	_, has := e.Attrs.Get("none")
	assert.False(t, has)

	res, err = Decode([]byte(`{"service":"api","name":"GET /","trace_id":"abc","span_id":"def","duration_ms":12.5}`), now)
	require.NoError(t, err)
	assert.Equal(t, domain.KindSpan, res.Events[0].Kind)
	assert.Equal(t, int64(12_500_000), res.Events[0].DurationNano)
}

func TestRejectsAndErrors(t *testing.T) {
	res, err := Decode([]byte(`[1, {"service": 5, "name": "n"}, {"service":"s","name":"n","duration_ms":"fast"}, {"service":"s","name":"ok"}]`), now)
	require.NoError(t, err)
	assert.Len(t, res.Events, 2, "a number is a valid string field value; the service becomes \"5\"")
	require.Len(t, res.Rejected, 2)
	assert.Equal(t, "record is not a JSON object", res.Rejected[0].Reason)
	assert.Contains(t, res.Rejected[1].Reason, `"duration_ms"`)

	_, err = Decode([]byte(``), now)
	assert.ErrorContains(t, err, "no events")
	res, err = Decode([]byte(`{"service":"s","name":"a"} {"service":`), now)
	assert.Error(t, err)
	assert.Len(t, res.Events, 1, "what decoded before the error is kept")
}

// Encode and Decode round-trip, so a replayed dead letter is the record
// that was refused.
func TestRoundTrip(t *testing.T) {
	e := domain.Event{TimeUnixNano: now.UnixNano() + 123, Kind: domain.KindSpan, Service: "s", Name: "n", TraceID: "t1", SpanID: "s1",
		ParentSpanID: "p1", DurationNano: 1_500_000, Status: domain.StatusError, Body: "b", SampleRate: 4}
	e.Attrs.Put("region", "eu")
	e.PutNum("code", 503)
	e.PutNum("bad", math.NaN())
	e.Resource.Put("host.name", "h")
	res, err := Decode(Encode(&e), now)
	require.NoError(t, err)
	got := res.Events[0]
	assert.Equal(t, e.TimeUnixNano, got.TimeUnixNano)
	assert.Equal(t, e.DurationNano, got.DurationNano)
	assert.Equal(t, e.SampleRate, got.SampleRate)
	assert.Equal(t, e.ParentSpanID, got.ParentSpanID)
	v, _ := got.NumAttrs.Get("code")
	assert.Equal(t, 503.0, v)
	v, _ = got.NumAttrs.Get("bad")
	assert.True(t, math.IsNaN(v), "NaN survives as a string so that validation refuses it again")
	h, _ := got.Resource.Get("host.name")
	assert.Equal(t, "h", h)

	s := domain.Sample{Name: "m", Labels: domain.Attrs{Keys: []string{"b", "a"}, Values: []string{"2", "1"}}, Type: domain.MetricCounter,
		TimeUnixNano: 42, Value: math.Inf(1)}
	ss, err := DecodeSamples(EncodeSample(&s))
	require.NoError(t, err)
	require.Len(t, ss, 1)
	assert.Equal(t, []string{"a", "b"}, ss[0].Labels.Keys, "labels sorted")
	assert.True(t, math.IsInf(ss[0].Value, 1))
	assert.NotZero(t, ss[0].SeriesID)
}

// TestDurationOfAnEvent: a custom event given duration_ms keeps it through
// a round trip (a dead letter replayed), as a span does.
func TestDurationOfAnEvent(t *testing.T) {
	res, err := Decode([]byte(`{"name": "nightly-job", "service": "batch", "duration_ms": 250}`), now)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	e := res.Events[0]
	assert.Equal(t, domain.KindEvent, e.Kind)
	assert.Equal(t, int64(250e6), e.DurationNano)
	again, err := Decode(Encode(&e), now)
	require.NoError(t, err)
	assert.Equal(t, int64(250e6), again.Events[0].DurationNano)
}

// TestManyKeysInLinearTime: an event with 100,000 attribute keys decodes
// well within a deadline (adding them one by one with Put took half a
// minute: each scanned the list). The deadline is a bound on the worst
// case a single request can cost, not a speed measurement (see the
// storage benchmark for that).
func TestManyKeysInLinearTime(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"service":"wide","name":"x","attributes":{`)
	for i := 0; i < 100_000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	b.WriteString(`}}`)
	done := make(chan *Result, 1)
	go func() {
		r, _ := Decode([]byte(b.String()), time.Now())
		done <- r
	}()
	select {
	case r := <-done:
		require.Len(t, r.Events, 1)
		assert.Equal(t, 100_000, r.Events[0].Attrs.Len())
		assert.Equal(t, 100_000, r.Events[0].NumAttrs.Len())
	case <-time.After(10 * time.Second):
		t.Fatal("100,000 keys took longer than 10 s: attribute handling is not linear")
	}
}

// TestInvalidUTF8IsCounted: the JSON decoder replaces bad bytes by U+FFFD
// silently; the records it did that to are counted.
func TestInvalidUTF8IsCounted(t *testing.T) {
	body := []byte("{\"name\": \"ok\"}\n{\"name\": \"bad \xff byte\"}\n{\"name\": \"also \xfe\"}\n")
	res, err := Decode(body, now)
	require.NoError(t, err)
	require.Len(t, res.Events, 3)
	assert.Equal(t, 2, res.InvalidUTF8)
	assert.Equal(t, "bad \uFFFD byte", res.Events[1].Name)
}

// TestNestedAttributesAreBounded: a record nested deeper than maxDepth, or
// with a key longer than maxKeyBytes, is refused with the reason, in
// little time and memory however it is shaped; the valid record beside it
// is kept.
func TestNestedAttributesAreBounded(t *testing.T) {
	deep := strings.Repeat(`{"k":`, 1000) + `"v"` + strings.Repeat("}", 1000)
	// Long keys nested: the joined key passes the bound long before the
	// depth does (this shape made 611 MB of keys from 62 KB).
	wide := strings.Repeat(`{"`+strings.Repeat("k", 60)+`":`, 1000) + `"v"` + strings.Repeat("}", 1000)
	long := `{"attributes": {"` + strings.Repeat("x", 2000) + `": 1}}`
	body := `{"name": "deep", "attributes": ` + deep + "}\n" + long + "\n" + `{"name": "wide", "attributes": ` + wide + "}\n" +
		`{"name": "ok", "attributes": {"a": {"b": {"c": 1}}}}`
	res, err := Decode([]byte(body), now)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, "ok", res.Events[0].Name)
	v, ok := res.Events[0].NumAttrs.Get("a.b.c")
	assert.True(t, ok)
	assert.Equal(t, 1.0, v)
	require.Len(t, res.Rejected, 3)
	assert.Contains(t, res.Rejected[0].Reason, "nested deeper than 32 levels")
	assert.Contains(t, res.Rejected[1].Reason, "key longer than 1024 bytes")
	assert.Contains(t, res.Rejected[2].Reason, "key longer than 1024 bytes")
}

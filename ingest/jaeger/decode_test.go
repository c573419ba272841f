package jaeger

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

const doc = `{"data":[{"traceID":"abc","spans":[
 {"traceID":"abc","spanID":"s1","operationName":"HTTP GET","references":[],"startTime":1700000000000000,"duration":2500,
  "tags":[{"key":"http.status_code","type":"int64","value":500},{"key":"error","type":"bool","value":true},
          {"key":"sampler.type","type":"string","value":"probabilistic"},{"key":"sampler.param","type":"float64","value":0.25}],
  "logs":[{"timestamp":1700000000001000,"fields":[{"key":"event","type":"string","value":"error"},{"key":"message","type":"string","value":"timeout"}]}],
  "processID":"p1"},
 {"traceID":"abc","spanID":"s2","operationName":"SELECT","references":[{"refType":"CHILD_OF","traceID":"abc","spanID":"s1"}],
  "startTime":1700000000000100,"duration":1000,"tags":[],"processID":"p2"},
 {"traceID":"abc","spanID":"s3","operationName":"orphan","startTime":1,"duration":1,"processID":"nope"}
],"processes":{"p1":{"serviceName":"frontend","tags":[{"key":"hostname","type":"string","value":"h1"}]},"p2":{"serviceName":"mysql","tags":[]}}}]}`

func TestDecode(t *testing.T) {
	res, err := Decode([]byte(doc))
	require.NoError(t, err)
	require.Len(t, res.Events, 3)
	require.Len(t, res.Rejected, 1)
	assert.Contains(t, res.Rejected[0].Reason, `unknown process "nope"`)

	root := res.Events[0]
	assert.Equal(t, "frontend", root.Service)
	assert.Equal(t, domain.StatusError, root.Status)
	assert.Equal(t, int64(1700000000000000000), root.TimeUnixNano)
	assert.Equal(t, int64(2_500_000), root.DurationNano)
	assert.Equal(t, 4.0, root.SampleRate, "probabilistic sampler at 0.25 is 1 in 4")
	code, _ := root.NumAttrs.Get("http.status_code")
	assert.Equal(t, 500.0, code)
	host, _ := root.Resource.Get("hostname")
	assert.Equal(t, "h1", host)

	log := res.Events[1]
	assert.Equal(t, domain.KindLog, log.Kind)
	assert.Equal(t, "error", log.Name)
	assert.Equal(t, "timeout", log.Body)
	assert.Equal(t, "s1", log.SpanID)

	child := res.Events[2]
	assert.Equal(t, "s1", child.ParentSpanID)
	assert.Equal(t, "mysql", child.Service)
	assert.Equal(t, 4.0, child.SampleRate, "the root's sampling decision kept the whole trace: every span stands for 4")
	assert.Equal(t, 4.0, log.SampleRate)

	_, err = Decode([]byte(`{"spans": []}`))
	assert.ErrorContains(t, err, `no "data" array`)
}

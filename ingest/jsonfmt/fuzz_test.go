package jsonfmt

import (
	"testing"
)

// FuzzDecode checks that any payload decodes or fails cleanly, and that
// every decoded event survives Encode → Decode (what a dead-letter replay
// relies on).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"service":"s","name":"n","timestamp":"2026-11-20T12:00:00Z","n":1,"nested":{"a":[1,2]}}`,
		`[{"service":"a","name":"x"},{"service":"b","message":"boom","level":"error"}]`,
		"{\"service\":\"a\",\"name\":\"x\"}\n{\"service\":\"b\",\"name\":\"y\",\"duration_ms\":3,\"trace_id\":\"t\",\"span_id\":\"s\"}",
		`{"service":"s","name":"n","numeric_attributes":{"x":"NaN"},"sample_rate":"+Inf"}`,
		`{"timestamp": 1795176000000, "resource": {"host": {"name": "h"}}}`,
		`[1, "x", null]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := Decode(body, now)
		if res == nil {
			t.Fatal("nil result")
		}
		if err != nil {
			return
		}
		for i := range res.Events {
			e := &res.Events[i]
			again, err := Decode(Encode(e), now)
			if err != nil || len(again.Events) != 1 {
				t.Fatalf("re-decode of %q: %v", Encode(e), err)
			}
			g := again.Events[0]
			if g.Service != e.Service || g.Name != e.Name || g.TimeUnixNano != e.TimeUnixNano || g.Kind != e.Kind {
				t.Fatalf("round trip changed the event: %+v → %+v", e, g)
			}
		}
	})
}

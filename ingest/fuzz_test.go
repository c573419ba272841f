package ingest

import (
	"testing"
	"time"
)

// FuzzDetectAndDecode feeds arbitrary payloads through format detection
// and the decoder it picks: no panic, no hang, and a decode either fails or
// yields records.
func FuzzDetectAndDecode(f *testing.F) {
	for _, body := range samplePayloads(f) {
		f.Add(body, "application/json")
		f.Add(body, "application/x-protobuf")
		f.Add(body, "")
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		format := Detect(contentType, body, false)
		if format == FormatUnknown {
			return
		}
		b, err := Decode(format, body, time.Unix(1700000000, 0))
		if err == nil && b == nil {
			t.Fatalf("%s: nil batch without an error", format)
		}
	})
}

package ingest

import (
	"bytes"
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

// FuzzWALRecord feeds damaged write-ahead log records to the decoder: it
// refuses them with an error, never panics or allocates by a damaged
// length, and what it accepts encodes back to the same bytes.
func FuzzWALRecord(f *testing.F) {
	for i := 0; i < 3; i++ {
		f.Add(EncodeMessage(nil, walMessage("acme", i)))
	}
	f.Add(EncodeMessage(nil, &Message{Tenant: "t"}))
	f.Fuzz(func(t *testing.T, rec []byte) {
		m, err := DecodeMessage(rec)
		if err != nil {
			return
		}
		if again := EncodeMessage(nil, m); string(again) != string(rec) {
			// Varints have one shortest form; a longer one decodes to the
			// same values, so only compare what re-decodes.
			m2, err := DecodeMessage(again)
			if err != nil || m2.Len() != m.Len() || m2.Tenant != m.Tenant {
				t.Fatalf("re-encoding changed the message")
			}
		}
	})
}

// FuzzDecodeLines feeds arbitrary line-delimited bodies to the
// line-by-line decoder: no panic, every bad line named once at most, and
// the lines that decode are kept whatever their neighbours are.
func FuzzDecodeLines(f *testing.F) {
	f.Add([]byte("{\"service\":\"a\",\"name\":\"x\"}\n{\"service\":\"a\",\"na\nnot json\n{\"service\":\"a\",\"name\":\"y\"}\n"))
	f.Add([]byte("{}\n\n\n[1,2]\n"))
	f.Add([]byte("{\"resourceLogs\":[]}\n{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"x\"}}]}]}]}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, format := range []Format{FormatJSONEvents, FormatOTLPJSONLines} {
			good, bad := DecodeLines(format, body, time.Unix(1700000000, 0), 1, DecodeOptions{})
			if good == nil {
				t.Fatal("nil batch")
			}
			if lines := bytes.Count(body, []byte("\n")) + 1; len(bad) > lines {
				t.Fatalf("%d bad lines named in a body of %d lines", len(bad), lines)
			}
			for _, b := range bad {
				if len(b.Raw) == 0 || bytes.IndexByte(b.Raw, '\n') >= 0 || !bytes.Contains(body, b.Raw) {
					t.Fatalf("bad line %d is not one line of the body: %q", b.No, b.Raw)
				}
			}
		}
	})
}

package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Single JSON documents that are long lists — a Zipkin v2 array of spans,
// a Jaeger {"data": [trace, ...]} export — are imported a part at a time:
// the list is read element by element and each part is decoded by the
// format's own decoder, so a file of any size imports in bounded memory.

// docFormat tells from the first bytes whether the file is one of those
// documents. It decodes only the first element.
func docFormat(r *bufio.Reader) (Format, bool) {
	peek, _ := r.Peek(1 << 20)
	dec := json.NewDecoder(bytes.NewReader(peek))
	tok, err := dec.Token()
	if err != nil {
		return FormatUnknown, false
	}
	var first map[string]json.RawMessage
	switch tok {
	case json.Delim('['):
		if dec.Decode(&first) != nil {
			return FormatUnknown, false
		}
		_, tid := first["traceId"]
		_, id := first["id"]
		_, le := first["localEndpoint"]
		_, ts := first["timestamp"]
		return FormatZipkinJSON, tid && id && (le || ts)
	case json.Delim('{'):
		if key, err := dec.Token(); err != nil || key != "data" {
			return FormatUnknown, false
		}
		if open, err := dec.Token(); err != nil || open != json.Delim('[') || dec.Decode(&first) != nil {
			return FormatUnknown, false
		}
		_, tid := first["traceID"]
		_, spans := first["spans"]
		return FormatJaegerJSON, tid && spans
	}
	return FormatUnknown, false
}

// A part holds docPartElems elements or docPartBytes bytes of them
// (variables for tests).
var (
	docPartElems = ImportChunk
	docPartBytes = 8 << 20
)

// document reads the list element by element and offers parts. A Zipkin
// part ends only where a trace does (when the file keeps a trace's spans
// together, its client and server halves are merged as in a whole-file
// decode); a Jaeger element is a whole trace.
func (im *importer) document(r io.Reader) error {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil { // [ or {
		return err
	}
	if im.format == FormatJaegerJSON {
		// Past "data" and its [; the keys after the list are not records.
		if _, err := dec.Token(); err != nil {
			return err
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
	}
	var part []json.RawMessage
	size, read, prevTrace := 0, 0, ""
	flush := func() error {
		if len(part) == 0 {
			return nil
		}
		body := []byte{'['}
		for i, raw := range part {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, raw...)
		}
		body = append(body, ']')
		if im.format == FormatJaegerJSON {
			body = append(append([]byte(`{"data":`), body...), '}')
		}
		batch, err := DecodeWith(im.format, body, time.Now(), im.p.DecodeOptions())
		if err != nil {
			return err
		}
		now := int(dec.InputOffset())
		part, size = nil, 0
		err = im.offer(batch, now-read)
		read = now
		return err
	}
	for n := 0; dec.More(); n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("element %d of the list: %w", n+1, err)
		}
		trace := ""
		if im.format == FormatZipkinJSON {
			var s struct {
				TraceID string `json:"traceId"`
			}
			_ = json.Unmarshal(raw, &s)
			trace = s.TraceID
		}
		full := len(part) >= docPartElems || size >= docPartBytes
		if full && (im.format == FormatJaegerJSON || trace != prevTrace || size >= 4*docPartBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		part = append(part, raw)
		size += len(raw)
		prevTrace = trace
	}
	if err := flush(); err != nil {
		return err
	}
	im.report(im.size)
	return nil
}

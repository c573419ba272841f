package otlp

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// MaxRecordsPerRequest bounds the spans or log records one protobuf request
// may hold. Decoding builds an object per record: 16 MiB of empty spans is
// 8 million of them and gigabytes of memory. OTel SDKs and Collectors send
// a few thousand at a time.
const MaxRecordsPerRequest = 200_000

// ErrTooManyRecords is a request holding more than MaxRecordsPerRequest.
var ErrTooManyRecords = errors.New("too many records in one request")

// countRecords counts the records of an ExportTraceServiceRequest or an
// ExportLogsServiceRequest from the wire, without decoding them: field 1
// holds the resource groups, their field 2 the scope groups, theirs field
// 2 the records. A span's events (field 11, each stored as a log record)
// and links (field 13) count as records too: one span with a million
// events is a million objects (it was 1.09 GB from 14 MB). A log record has
// no message-typed field 11 or 13. A malformed body is left to the decoder
// to name.
func countRecords(body []byte) int {
	n := 0
	each(body, 1, func(resource []byte) {
		each(resource, 2, func(scope []byte) {
			each(scope, 2, func(record []byte) {
				n++
				each(record, 11, func([]byte) { n++ })
				each(record, 13, func([]byte) { n++ })
			})
		})
	})
	return n
}

// each calls fn with every length-delimited field num of a message.
func each(msg []byte, num protowire.Number, fn func([]byte)) {
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return
		}
		msg = msg[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(msg)
			if l < 0 {
				return
			}
			fn(v)
			msg = msg[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, msg)
		if l < 0 {
			return
		}
		msg = msg[l:]
	}
}

// CheckWire refuses an OTLP export request (traces or logs; for metrics
// it counts metrics) with more than MaxRecordsPerRequest records, from the
// wire, before anything is decoded: the gRPC path's guard, as the HTTP
// path's is in Decode.
func CheckWire(body []byte) error { return checkCount(body, "records") }

// checkCount refuses a protobuf body with too many records, before it is
// decoded.
func checkCount(body []byte, what string) error {
	if n := countRecords(body); n > MaxRecordsPerRequest {
		return fmt.Errorf("%w: %d %s, more than %d: send smaller batches", ErrTooManyRecords, n, what, MaxRecordsPerRequest)
	}
	return nil
}

// countJSONArrays counts the elements of every array that is the value of
// an object key named one of keys ("spans", their "events" and "links";
// "logRecords"), in one pass over the bytes without decoding them. A
// malformed body is left to the decoder to name; the count is then a
// lower bound or nonsense, never a panic.
func countJSONArrays(b []byte, keys ...string) int {
	var stack []bool // per open container: an array whose elements count
	n := 0
	want := false     // the next value starts an element of a counted array
	lastKey := false  // the last string read was key
	keyValue := false // a ':' followed key: the next '[' is counted
	start := func() {
		if want && len(stack) > 0 && stack[len(stack)-1] {
			n++
		}
		want = false
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			start()
			j := i + 1
			for ; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			lastKey = j < len(b) && slices.Contains(keys, string(b[i+1:j]))
			i = j
			continue
		case ':':
			keyValue = lastKey
		case '[':
			start()
			stack = append(stack, keyValue)
			want = keyValue
			keyValue = false
		case '{':
			start()
			stack = append(stack, false)
			keyValue = false
		case ']', '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			want = false
		case ',':
			want = len(stack) > 0 && stack[len(stack)-1]
		default:
			start() // a number, true, false or null
			keyValue = false
		}
		lastKey = false
	}
	return n
}

// jsonSpanKeys and jsonLogKeys name the arrays whose elements the decoder
// makes records of. The empty key is among them: pdata's JSON decoder reads
// the elements of an array under "" inside a record as more records (the
// fuzzer's "counted 1 spans, the decoder found 2"), so they are counted as
// such.
var (
	jsonSpanKeys = []string{"spans", "events", "links", ""}
	jsonLogKeys  = []string{"logRecords", ""}
)

// checkJSONCount refuses an OTLP/JSON body with too many records before it
// is decoded. Bodies too small to hold that many are not scanned.
func checkJSONCount(body []byte, what string, keys ...string) error {
	if len(body) < 2*MaxRecordsPerRequest {
		return nil
	}
	if n := countJSONArrays(body, keys...); n > MaxRecordsPerRequest {
		return fmt.Errorf("%w: %d %s, more than %d: send smaller batches", ErrTooManyRecords, n, what, MaxRecordsPerRequest)
	}
	return nil
}

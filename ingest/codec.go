package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/inquest/inquest/domain"
)

// A queued Message is kept (in the write-ahead log) and sent between
// processes (as Kafka records) in one compact binary form: varints,
// length-prefixed strings and fixed 8-byte floats and hashes, so NaN and
// staleness markers round-trip bit for bit. The version byte refuses a
// record from an incompatible build rather than misreading it.
const walCodecVersion = 1

// EncodeMessage appends m's binary form to b.
func EncodeMessage(b []byte, m *Message) []byte {
	b = append(b, walCodecVersion)
	b = appendString(b, m.Tenant)
	b = binary.AppendVarint(b, m.Bytes)
	b = binary.AppendUvarint(b, uint64(len(m.Events)))
	for i := range m.Events {
		b = appendEvent(b, &m.Events[i])
	}
	b = binary.AppendUvarint(b, uint64(len(m.Samples)))
	for i := range m.Samples {
		s := &m.Samples[i]
		b = appendString(b, s.Tenant)
		b = appendString(b, s.Name)
		b = appendStrings(b, s.Labels)
		b = appendString(b, string(s.Type))
		b = binary.AppendVarint(b, s.TimeUnixNano)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Value))
		b = binary.LittleEndian.AppendUint64(b, s.SeriesID)
		b = binary.AppendVarint(b, s.IngestedNano)
	}
	return b
}

func appendEvent(b []byte, e *domain.Event) []byte {
	for _, s := range [...]string{e.Tenant, string(e.Kind), e.Service, e.Name, e.TraceID, e.SpanID, e.ParentSpanID,
		string(e.Status), e.Severity, e.Body} {
		b = appendString(b, s)
	}
	b = binary.AppendVarint(b, e.TimeUnixNano)
	b = binary.AppendVarint(b, e.DurationNano)
	b = appendStrings(b, e.Attrs)
	b = appendStrings(b, e.Resource)
	b = binary.AppendUvarint(b, uint64(len(e.NumAttrs.Keys)))
	for i, k := range e.NumAttrs.Keys {
		b = appendString(b, k)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.NumAttrs.Values[i]))
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.SampleRate))
	b = binary.LittleEndian.AppendUint64(b, e.ID)
	return binary.AppendVarint(b, e.IngestedNano)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, kv domain.Attrs) []byte {
	b = binary.AppendUvarint(b, uint64(len(kv.Keys)))
	for i, k := range kv.Keys {
		b = appendString(b, k)
		b = appendString(b, kv.Values[i])
	}
	return b
}

var errWALRecord = errors.New("record is malformed")

// walReader reads what EncodeMessage wrote; the first problem sticks and
// every later read returns zero values, so decoding never panics on a
// damaged record.
type walReader struct {
	b   []byte
	err error
	// seen holds the record's repeated strings (tenant, service, names,
	// attribute keys, resource attributes, common values), so that a
	// record of a thousand spans from a few services allocates each once:
	// a string allocation per field was the largest cost of decoding. It
	// is bounded: a record of unique values stops adding past maxSeen.
	seen map[string]string
}

// maxSeen bounds the strings a record's decoding keeps to share.
const maxSeen = 4096

func (r *walReader) fail() {
	if r.err == nil {
		r.err = errWALRecord
	}
	r.b = nil
}

func (r *walReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *walReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *walReader) fixed() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *walReader) float() float64 { return math.Float64frombits(r.fixed()) }

func (r *walReader) string() string {
	b := r.bytes()
	if len(b) == 0 {
		return ""
	}
	return string(b)
}

// shared reads a string that is likely to repeat in the record and
// returns the record's one copy of it.
func (r *walReader) shared() string {
	b := r.bytes()
	if len(b) == 0 {
		return ""
	}
	if s, ok := r.seen[string(b)]; ok {
		return s
	}
	s := string(b)
	if r.seen == nil {
		r.seen = make(map[string]string, 64)
	}
	if len(r.seen) < maxSeen {
		r.seen[s] = s
	}
	return s
}

func (r *walReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

// count reads a length and checks that at least min bytes per element
// remain, so a damaged length cannot make a huge allocation.
func (r *walReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *walReader) strings() domain.Attrs {
	n := r.count(2)
	if n == 0 {
		return domain.Attrs{}
	}
	kv := domain.Attrs{Keys: make([]string, n), Values: make([]string, n)}
	for i := 0; i < n; i++ {
		kv.Keys[i], kv.Values[i] = r.shared(), r.shared()
	}
	return kv
}

// DecodeMessage reads what EncodeMessage wrote, refusing a record that is
// truncated, has bytes left over, or claims more items than it can hold.
func DecodeMessage(b []byte) (*Message, error) {
	if len(b) == 0 || b[0] != walCodecVersion {
		return nil, fmt.Errorf("%w: unknown version", errWALRecord)
	}
	r := &walReader{b: b[1:]}
	m := &Message{Tenant: r.shared(), Bytes: r.varint()}
	if n := r.count(20); n > 0 {
		m.Events = make([]domain.Event, n)
		for i := range m.Events {
			r.event(&m.Events[i])
		}
	}
	if n := r.count(20); n > 0 {
		m.Samples = make([]domain.Sample, n)
		for i := range m.Samples {
			s := &m.Samples[i]
			s.Tenant, s.Name, s.Labels = r.shared(), r.shared(), r.strings()
			s.Type = domain.MetricType(r.shared())
			s.TimeUnixNano, s.Value, s.SeriesID, s.IngestedNano = r.varint(), r.float(), r.fixed(), r.varint()
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

func (r *walReader) event(e *domain.Event) {
	e.Tenant, e.Kind, e.Service, e.Name = r.shared(), domain.Kind(r.shared()), r.shared(), r.shared()
	// Trace and span ids are unique: sharing would only cost a lookup.
	e.TraceID, e.SpanID, e.ParentSpanID = r.string(), r.string(), r.string()
	e.Status, e.Severity, e.Body = domain.Status(r.shared()), r.shared(), r.string()
	e.TimeUnixNano, e.DurationNano = r.varint(), r.varint()
	e.Attrs, e.Resource = r.strings(), r.strings()
	if n := r.count(9); n > 0 {
		e.NumAttrs = domain.NumAttrs{Keys: make([]string, n), Values: make([]float64, n)}
		for i := 0; i < n; i++ {
			e.NumAttrs.Keys[i], e.NumAttrs.Values[i] = r.shared(), r.float()
		}
	}
	e.SampleRate, e.ID, e.IngestedNano = r.float(), r.fixed(), r.varint()
}

// Package domain is the vocabulary every layer of Inquest shares: events
// and metric samples, the backend-neutral query model, time ranges, and the
// records of the incident's journey (anomalies, incidents, investigations,
// hypotheses, proposals) with their causes and risks. It has no I/O and
// imports nothing of the house, so a face, an engine and a store can all
// speak it without reaching each other; storage/ persists it and the
// backends compile its queries to their own dialect with bound parameters.
package domain

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Kind tells spans, logs and custom events apart in the one wide events table.
type Kind string

// Kinds of event.
const (
	KindSpan  Kind = "span"
	KindLog   Kind = "log"
	KindEvent Kind = "event"
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool { return k == KindSpan || k == KindLog || k == KindEvent }

// Status is the span status as OpenTelemetry defines it; logs and events
// derive it from severity or an explicit field.
type Status string

// Statuses.
const (
	StatusUnset Status = "unset"
	StatusOK    Status = "ok"
	StatusError Status = "error"
)

// MaxSeriesLabels bounds the labels of one metric series, as Prometheus'
// label_limit and VictoriaMetrics' -maxLabelsPerTimeseries do: past it the
// series is refused, naming the limit. Every metrics decoder holds to it.
const MaxSeriesLabels = 128

// KeyValues is a list of attributes kept as parallel key/value slices,
// because that is how the columnar backends store them (and appending two
// slices is much cheaper than building a map per row). Lists are short, so
// lookups scan.
type KeyValues[V any] struct {
	Keys   []string
	Values []V
}

// Put sets key to value, replacing an earlier value of the same key.
func (a *KeyValues[V]) Put(key string, value V) {
	for i, k := range a.Keys {
		if k == key {
			a.Values[i] = value
			return
		}
	}
	a.Keys = append(a.Keys, key)
	a.Values = append(a.Values, value)
}

// Get returns the value of key.
func (a KeyValues[V]) Get(key string) (V, bool) {
	for i, k := range a.Keys {
		if k == key {
			return a.Values[i], true
		}
	}
	var zero V
	return zero, false
}

// Len is the number of attributes.
func (a KeyValues[V]) Len() int { return len(a.Keys) }

// Attrs holds string attributes, resource attributes and metric labels.
type Attrs = KeyValues[string]

// NumAttrs holds the numeric attributes of an event. Every numeric attribute
// is also kept in the string Attrs (formatted without a trailing ".0"), so
// equality filters and group-bys work on one representation while numeric
// aggregations read native doubles.
type NumAttrs = KeyValues[float64]

// Event is one row of the wide events table: a span, a log record or a
// custom event. Every count and sum over events is weighted by SampleRate.
type Event struct {
	Tenant       string
	TimeUnixNano int64
	Kind         Kind
	Service      string
	Name         string
	TraceID      string // lower-case hex, empty when absent
	SpanID       string
	ParentSpanID string
	DurationNano int64
	Status       Status
	Severity     string
	Body         string
	Attrs        Attrs
	NumAttrs     NumAttrs
	Resource     Attrs
	SampleRate   float64
	// ID is the content hash of the event; two identical deliveries of the
	// same record get the same ID, which is what dedup keys on.
	ID uint64
	// IngestedNano is when Inquest took the record in (0: the store's
	// clock at write); retention counts from it, not from TimeUnixNano.
	IngestedNano int64
}

// MemSize is roughly what the event holds in memory, for queues bounded in
// bytes: the struct, its strings and its attribute lists.
func (e *Event) MemSize() int64 {
	n := 256 + len(e.Service) + len(e.Name) + len(e.TraceID) + len(e.SpanID) + len(e.ParentSpanID) +
		len(e.Severity) + len(e.Body) + 24*len(e.NumAttrs.Keys)
	for _, kv := range []*Attrs{&e.Attrs, &e.Resource} {
		for i, k := range kv.Keys {
			n += 32 + len(k) + len(kv.Values[i])
		}
	}
	for _, k := range e.NumAttrs.Keys {
		n += len(k)
	}
	return int64(n)
}

// MemSize is roughly what the sample holds in memory.
func (s *Sample) MemSize() int64 {
	n := 96 + len(s.Name)
	for i, k := range s.Labels.Keys {
		n += 32 + len(k) + len(s.Labels.Values[i])
	}
	return int64(n)
}

// PutNum records a numeric attribute in both the numeric and string lists.
func (e *Event) PutNum(key string, v float64) {
	e.NumAttrs.Put(key, v)
	e.Attrs.Put(key, FormatNumber(v))
}

// FormatNumber formats v the way a user would type it: 500, not 500.0.
func FormatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// HasDuration tells whether the event's duration is one: every span's,
// and a log's or custom event's that was given one (a JSON event with
// duration_ms, a job's run time); a zero on those means none was given,
// and is stored as no duration so that percentiles skip it.
func (e *Event) HasDuration() bool { return e.Kind == KindSpan || e.DurationNano != 0 }

// ContentHash computes the event's identity from everything it carries
// except the tenant-independent ID itself. It is stable across processes.
// Every text is written after its length, so that no two different events
// write the same bytes (with separators instead, "a\x00b"+"c" and
// "a"+"b\x00c" did, and the second was dropped as a duplicate).
func (e *Event) ContentHash() uint64 {
	h := xxhash.New()
	var num [8]byte
	var size [binary.MaxVarintLen64]byte
	str := func(s string) {
		_, _ = h.Write(size[:binary.PutUvarint(size[:], uint64(len(s)))])
		_, _ = h.WriteString(s)
	}
	i64 := func(v int64) {
		binary.LittleEndian.PutUint64(num[:], uint64(v))
		_, _ = h.Write(num[:])
	}
	str(e.Tenant)
	i64(e.TimeUnixNano)
	str(string(e.Kind))
	str(e.Service)
	str(e.Name)
	str(e.TraceID)
	str(e.SpanID)
	str(e.ParentSpanID)
	i64(e.DurationNano)
	str(string(e.Status))
	str(e.Severity)
	str(e.Body)
	for i := range e.Attrs.Keys {
		str(e.Attrs.Keys[i])
		str(e.Attrs.Values[i])
	}
	i64(int64(len(e.Resource.Keys))) // where the attributes end and the resource begins
	for i := range e.Resource.Keys {
		str(e.Resource.Keys[i])
		str(e.Resource.Values[i])
	}
	i64(int64(math.Float64bits(e.SampleRate)))
	return h.Sum64()
}

// MetricType keeps the OTLP / Prometheus type of a series so that counters
// can be read as rates.
type MetricType string

// Metric types.
const (
	MetricGauge     MetricType = "gauge"
	MetricCounter   MetricType = "counter"
	MetricHistogram MetricType = "histogram"
	MetricSummary   MetricType = "summary"
	MetricUnknown   MetricType = "unknown"
)

// staleMarker is the NaN bit pattern Prometheus writes to say a series
// ended (a target went away, a series vanished from a scrape).
const staleMarker uint64 = 0x7ff0000000000002

// IsStaleMarker reports whether v is Prometheus' staleness marker: the end
// of a series, not a value. It is stored; queries skip it as any NaN.
func IsStaleMarker(v float64) bool { return math.Float64bits(v) == staleMarker }

// TypeFromName guesses a series' type from the Prometheus naming
// conventions, for sources that do not carry types (remote write 1.0, a
// VictoriaMetrics series written by someone else): _total, _count, _sum
// and _bucket are counters, anything else a gauge.
func TypeFromName(name string) MetricType {
	for _, suffix := range []string{"_total", "_count", "_sum", "_bucket"} {
		if strings.HasSuffix(name, suffix) {
			return MetricCounter
		}
	}
	return MetricGauge
}

// Sample is one point of a metric series. Labels exclude the name; the
// series is identified by SeriesID, a hash of name and sorted labels.
type Sample struct {
	Tenant       string
	Name         string
	Labels       Attrs // sorted by key
	Type         MetricType
	TimeUnixNano int64
	Value        float64
	SeriesID     uint64
	// IngestedNano is when Inquest took the sample in (see Event).
	IngestedNano int64
}

// ComputeSeriesID hashes the name and labels; labels must already be sorted.
func (s *Sample) ComputeSeriesID() uint64 {
	h := xxhash.New()
	_, _ = h.WriteString(s.Name)
	for i := range s.Labels.Keys {
		_, _ = h.Write([]byte{0})
		_, _ = h.WriteString(s.Labels.Keys[i])
		_, _ = h.Write([]byte{1})
		_, _ = h.WriteString(s.Labels.Values[i])
	}
	return h.Sum64()
}

// ContentHash identifies a delivery of the sample for dedup.
func (s *Sample) ContentHash() uint64 {
	h := xxhash.New()
	var num [8]byte
	_, _ = h.WriteString(s.Tenant)
	binary.LittleEndian.PutUint64(num[:], s.SeriesID)
	_, _ = h.Write(num[:])
	binary.LittleEndian.PutUint64(num[:], uint64(s.TimeUnixNano))
	_, _ = h.Write(num[:])
	binary.LittleEndian.PutUint64(num[:], math.Float64bits(s.Value))
	_, _ = h.Write(num[:])
	return h.Sum64()
}

// DeadLetter is a record (or a whole payload, when no record could be told
// apart) that ingest refused, kept with the reason so it can be inspected and
// replayed.
type DeadLetter struct {
	Tenant         string
	ID             string
	TimeUnixNano   int64 // when it was refused
	Source         string
	Format         string
	Reason         string
	Payload        []byte
	ReplayedAtNano int64 // 0 when never replayed successfully
}

// Rejected is a record a decoder could tell apart but not turn into an
// Event or Sample; it goes to the dead-letter queue with its raw bytes.
type Rejected struct {
	Raw    []byte
	Reason string
}

// Sort orders the attributes by key; metric labels must be sorted before
// their series ID is computed.
func (a *KeyValues[V]) Sort() { sort.Sort(byKey[V]{a}) }

// Append adds a pair without looking for the key: for a list built all at
// once and then made unique by SortUnique, in O(n log n) where Put one by
// one is O(n²) (a data point with 100k attributes took 13 s of CPU).
func (a *KeyValues[V]) Append(key string, value V) {
	a.Keys = append(a.Keys, key)
	a.Values = append(a.Values, value)
}

// SortUnique orders the pairs by key and keeps, of a key given more than
// once, the value given last, as Put would have.
func (a *KeyValues[V]) SortUnique() {
	sort.Stable(byKey[V]{a})
	n := 0
	for i := range a.Keys {
		if n > 0 && a.Keys[n-1] == a.Keys[i] {
			a.Values[n-1] = a.Values[i] // the later one wins
			continue
		}
		a.Keys[n], a.Values[n] = a.Keys[i], a.Values[i]
		n++
	}
	a.Keys, a.Values = a.Keys[:n], a.Values[:n]
}

type byKey[V any] struct{ a *KeyValues[V] }

func (b byKey[V]) Len() int           { return len(b.a.Keys) }
func (b byKey[V]) Less(i, j int) bool { return b.a.Keys[i] < b.a.Keys[j] }
func (b byKey[V]) Swap(i, j int) {
	b.a.Keys[i], b.a.Keys[j] = b.a.Keys[j], b.a.Keys[i]
	b.a.Values[i], b.a.Values[j] = b.a.Values[j], b.a.Values[i]
}

// APIKey is a long-lived credential for automation (ingest agents, MCP
// clients). Only a hash of its secret is stored.
type APIKey struct {
	Tenant         string
	ID             string // public part, also in the key string
	Name           string
	Role           string
	SecretHash     []byte // SHA-256 of the secret part
	CreatedBy      string
	CreatedAtNano  int64
	LastUsedAtNano int64 // 0 when never used
	RevokedAtNano  int64 // 0 while valid
}

// UsageHour is what one tenant used in one hour, for metering.
type UsageHour struct {
	Tenant   string
	HourNano int64 // start of the hour
	Events   int64 // records accepted by ingest
	Bytes    int64 // request bytes received by ingest
	Queries  int64 // GraphQL operations
}

// AuditEntry is one line of the append-only audit log: who did what to
// what, and how it went.
type AuditEntry struct {
	Tenant       string
	ID           string
	TimeUnixNano int64
	Actor        string // the principal's subject, or "apikey:<id>"
	Action       string // e.g. api_key.create, dead_letter.replay, access.denied
	Target       string
	Outcome      string // ok, denied, failed
	Detail       string
}

// NewID returns a random 96-bit hex identifier for records that have no
// natural key (dead letters, audit entries).
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// errorKeys are the attributes that say what went wrong with a span, the
// most telling first.
var errorKeys = []string{"exception.message", "status.message", "error.message", "exception.type", "http.response.status_code", "http.status_code"}

// ErrorMessage is the first attribute of e that says what went wrong, so
// that every reader of a failed span quotes the same words.
func (e *Event) ErrorMessage() (key, value string, ok bool) {
	for _, k := range errorKeys {
		if v, found := e.Attrs.Get(k); found && v != "" {
			return k, v, true
		}
	}
	return "", "", false
}

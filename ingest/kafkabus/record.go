package kafkabus

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
)

// A record's value is validated records of one tenant in the binary form
// the write-ahead log uses (ingest.EncodeMessage): a third of JSON's size
// and a fraction of its cost, and NaN and staleness markers round-trip.
// Records a gateway of an older build wrote as JSON (their first byte is
// '{') are still read, so a rolling upgrade loses nothing.
type legacyWire struct {
	V       int             `json:"v"`
	Tenant  string          `json:"tenant"`
	Events  []domain.Event  `json:"events,omitempty"`
	Samples []domain.Sample `json:"samples,omitempty"`
}

const legacyWireVersion = 1

// maxRecordBytes stays under Kafka's default 1 MB message size.
const maxRecordBytes = 900 << 10

const samplesPerRecord = 2000

// encode splits a message into records keyed by trace id, so that the
// spans of one trace reach one partition (and one writer) in order. Events
// without a trace, and samples, are keyed by tenant and service or name.
func encode(topic string, m *ingest.Message) ([]*kgo.Record, error) {
	var recs []*kgo.Record
	add := func(key string, events []domain.Event, samples []domain.Sample) error {
		r, err := encodeChunk(topic, key, m.Tenant, events, samples)
		if err != nil {
			return err
		}
		recs = append(recs, r...)
		return nil
	}
	byKey := map[string][]domain.Event{}
	var order []string
	for i := range m.Events {
		e := &m.Events[i]
		if e.Tenant != m.Tenant {
			return nil, fmt.Errorf("event of tenant %q in a message of tenant %q", e.Tenant, m.Tenant)
		}
		k := e.TraceID
		if k == "" {
			k = m.Tenant + "/" + e.Service
		}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], *e)
	}
	for _, k := range order {
		if err := add(k, byKey[k], nil); err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(m.Samples); i += samplesPerRecord {
		chunk := m.Samples[i:min(i+samplesPerRecord, len(m.Samples))]
		for j := range chunk {
			if chunk[j].Tenant != m.Tenant {
				return nil, fmt.Errorf("sample of tenant %q in a message of tenant %q", chunk[j].Tenant, m.Tenant)
			}
		}
		if err := add(m.Tenant+"/"+chunk[0].Name, nil, chunk); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// encodeChunk encodes one record, halving it until it fits.
func encodeChunk(topic, key, tenant string, events []domain.Event, samples []domain.Sample) ([]*kgo.Record, error) {
	b := ingest.EncodeMessage(nil, &ingest.Message{Tenant: tenant, Events: events, Samples: samples})
	if len(b) <= maxRecordBytes {
		return []*kgo.Record{{Topic: topic, Key: []byte(key), Value: b}}, nil
	}
	n := len(events) + len(samples)
	if n <= 1 {
		return nil, fmt.Errorf("one record of %d bytes is above the %d-byte limit", len(b), maxRecordBytes)
	}
	var a, c []*kgo.Record
	var err error
	if len(events) > 1 {
		h := len(events) / 2
		if a, err = encodeChunk(topic, key, tenant, events[:h], nil); err == nil {
			c, err = encodeChunk(topic, key, tenant, events[h:], samples)
		}
	} else {
		h := len(samples) / 2
		if a, err = encodeChunk(topic, key, tenant, events, samples[:h]); err == nil {
			c, err = encodeChunk(topic, key, tenant, nil, samples[h:])
		}
	}
	return append(a, c...), err
}

var errBadRecord = errors.New("bad record")

// decode turns a record's value back into a message, refusing anything a
// gateway could not have produced.
func decode(value []byte) (*ingest.Message, error) {
	var m *ingest.Message
	if len(value) > 0 && value[0] == '{' {
		var w legacyWire
		if err := json.Unmarshal(value, &w); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadRecord, err)
		}
		if w.V != legacyWireVersion {
			return nil, fmt.Errorf("%w: version %d, want %d", errBadRecord, w.V, legacyWireVersion)
		}
		m = &ingest.Message{Tenant: w.Tenant, Events: w.Events, Samples: w.Samples}
	} else {
		var err error
		if m, err = ingest.DecodeMessage(value); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadRecord, err)
		}
		m.Bytes = 0
	}
	if m.Tenant == "" {
		return nil, fmt.Errorf("%w: no tenant", errBadRecord)
	}
	for i := range m.Events {
		if m.Events[i].Tenant != m.Tenant {
			return nil, fmt.Errorf("%w: event of another tenant", errBadRecord)
		}
	}
	for i := range m.Samples {
		if m.Samples[i].Tenant != m.Tenant {
			return nil, fmt.Errorf("%w: sample of another tenant", errBadRecord)
		}
	}
	return m, nil
}

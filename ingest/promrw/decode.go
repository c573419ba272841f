// Package promrw decodes Prometheus remote write 1.0 requests (the protobuf
// inside the snappy block) into samples.
package promrw

import (
	"fmt"

	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompb"

	"github.com/inquest/inquest/domain"
)

// IsStale reports whether v is Prometheus' staleness marker.
func IsStale(v float64) bool { return domain.IsStaleMarker(v) }

// Decoded holds the samples of a request, the count of staleness markers
// among them, and the series refused (each named, the others kept).
type Decoded struct {
	Samples  []domain.Sample
	Stale    int
	Rejected []domain.Rejected
}

// MaxLabels bounds the labels of one series (domain.MaxSeriesLabels).
const MaxLabels = domain.MaxSeriesLabels

// Decode decodes an uncompressed WriteRequest. The metric type is inferred
// from the name (remote write 1.0 carries no types): _total, _count, _sum
// and _bucket are counters.
func Decode(body []byte) (*Decoded, error) {
	var wr prompb.WriteRequest
	if err := wr.UnmarshalProtobuf(body); err != nil {
		return nil, fmt.Errorf("decode remote write: %w", err)
	}
	out := &Decoded{}
	for _, ts := range wr.Timeseries {
		var name string
		var ls domain.Attrs
		for _, l := range ts.Labels {
			if l.Name == "__name__" {
				name = l.Value
				continue
			}
			ls.Append(l.Name, l.Value)
		}
		if len(ls.Keys) > MaxLabels {
			out.Rejected = append(out.Rejected, domain.Rejected{Raw: []byte(name),
				Reason: fmt.Sprintf("series %q has %d labels, more than the limit of %d", name, len(ls.Keys), MaxLabels)})
			continue
		}
		ls.SortUnique()
		typ := domain.TypeFromName(name)
		var id uint64
		// A staleness marker ends the series: it is stored like Prometheus'
		// TSDB stores it, queries skip it (as every NaN) and detection
		// forgets the series on it.
		for i, s := range ts.Samples {
			if IsStale(s.Value) {
				out.Stale++
			}
			m := domain.Sample{Name: name, Labels: ls, Type: typ, TimeUnixNano: s.Timestamp * 1e6, Value: s.Value}
			if i == 0 || id == 0 {
				id = m.ComputeSeriesID()
			}
			m.SeriesID = id
			out.Samples = append(out.Samples, m)
		}
	}
	return out, nil
}

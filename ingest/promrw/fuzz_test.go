package promrw

import (
	"testing"

	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompbmarshal"
)

func FuzzDecode(f *testing.F) {
	wr := prompbmarshal.WriteRequest{Timeseries: []prompbmarshal.TimeSeries{{
		Labels:  []prompbmarshal.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "x"}},
		Samples: []prompbmarshal.Sample{{Value: 1, Timestamp: 1700000000000}},
	}}}
	f.Add(wr.MarshalProtobuf(nil))
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := Decode(body)
		if err != nil {
			return
		}
		for _, s := range d.Samples {
			for i := 1; i < len(s.Labels.Keys); i++ {
				if s.Labels.Keys[i-1] > s.Labels.Keys[i] {
					t.Fatalf("labels not sorted: %v", s.Labels.Keys)
				}
			}
		}
	})
}

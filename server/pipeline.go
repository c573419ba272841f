package server

import (
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/inquest/inquest/service"
)

// pipelineStatus reads the ingest path's counters from the process's own
// registry, the same figures /metrics serves: one place for them.
func (s *Server) pipelineStatus() service.PipelineStatus {
	var st service.PipelineStatus
	if s.mem != nil {
		st.MemoryLimitBytes = float64(s.mem.limit)
	}
	fams, err := s.registry.Gather()
	if err != nil && len(fams) == 0 {
		return st
	}
	for _, f := range fams {
		switch f.GetName() {
		case "inquest_ingest_records_total":
			st.Records = counts(f, "signal", "outcome")
		case "inquest_ingest_payloads_total":
			st.Payloads = counts(f, "source", "outcome")
		case "inquest_ingest_queue_records":
			st.QueueRecords = total(f)
		case "inquest_wal_segments":
			st.WALSegments = total(f)
		case "inquest_wal_bytes_total":
			st.WALBytes = total(f)
		case "inquest_writer_rows_total":
			st.Rows = counts(f, "table")
		case "inquest_writer_flush_seconds":
			for _, m := range f.GetMetric() {
				st.Flushes += float64(m.GetHistogram().GetSampleCount())
				st.FlushSeconds += m.GetHistogram().GetSampleSum()
			}
		case "inquest_writer_lost_records_total":
			st.Lost = total(f)
		case "inquest_writer_refused_records_total":
			st.Refused = total(f)
		case "inquest_ingest_dead_letters_dropped_total":
			st.DeadLettersDropped = total(f)
		case "inquest_kafka_consumer_lag_records":
			lag := total(f)
			st.KafkaLag = &lag
		case "inquest_memory_used_bytes":
			st.MemoryUsedBytes = total(f)
		}
	}
	return st
}

// counts keys a family's values by the labels named, joined with "/".
func counts(f *dto.MetricFamily, labels ...string) []service.Count {
	var out []service.Count
	for _, m := range f.GetMetric() {
		key := make([]string, len(labels))
		for i, l := range labels {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == l {
					key[i] = lp.GetValue()
				}
			}
		}
		out = append(out, service.Count{Key: strings.Join(key, "/"), Value: value(m)})
	}
	return out
}

// total sums a family's values over its labels.
func total(f *dto.MetricFamily) float64 {
	var v float64
	for _, m := range f.GetMetric() {
		v += value(m)
	}
	return v
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

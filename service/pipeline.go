package service

import (
	"context"
	"time"

	"github.com/inquest/inquest/auth"
)

// PipelineStatus is this process's ingest path at one moment: what the
// receivers took in and refused, what waits in the queue and the
// write-ahead log, what the writers stored. Counters only grow (since the
// process started); a client takes rates from two readings.
type PipelineStatus struct {
	At time.Time
	// Records offered to ingest, keyed "signal/outcome" (span/accepted,
	// log/rejected, sample/backpressure, ...); Payloads "source/outcome".
	Records, Payloads []Count
	QueueRecords      float64
	WALSegments       float64
	WALBytes          float64
	// Rows written to the store, keyed by table.
	Rows []Count
	// Flushes and FlushSeconds: the writers' batches and their total time.
	Flushes, FlushSeconds float64
	// Lost records neither the store nor the dead-letter queue took;
	// Refused ones the store refused (dead-lettered); DeadLettersDropped
	// ones over a tenant's dead-letter cap.
	Lost, Refused, DeadLettersDropped float64
	// KafkaLag is the records the writers have yet to read from Kafka
	// (scaled mode; nil on the embedded bus).
	KafkaLag         *float64
	MemoryUsedBytes  float64
	MemoryLimitBytes float64
}

// Count is one labelled counter's value.
type Count struct {
	Key   string
	Value float64
}

// Pipeline reads this process's ingest path. Its figures are every
// tenant's together, so they are the operator's: an admin of the default
// tenant (anyone in development mode); another tenant's admin would learn
// of the others' traffic.
func (s *Service) Pipeline(ctx context.Context, p Principal) (*PipelineStatus, error) {
	if err := s.allow(ctx, p, "pipeline"); err != nil {
		return nil, err
	}
	if p.Tenant != auth.DefaultTenant {
		return nil, Forbidden("the pipeline's figures are every tenant's: they are for an admin of the %q tenant", auth.DefaultTenant)
	}
	if s.d.PipelineStatus == nil {
		return nil, Unavailable("this process keeps no ingest pipeline")
	}
	st := s.d.PipelineStatus()
	st.At = s.cfg.Now()
	return &st, nil
}

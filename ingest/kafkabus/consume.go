package kafkabus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Bus) startConsumer() error {
	cons, err := kgo.NewClient(kgo.SeedBrokers(b.cfg.Brokers...), kgo.ConsumerGroup(b.cfg.Group),
		kgo.ConsumeTopics(b.cfg.Topic), kgo.DisableAutoCommit(),
		// A new group reads the topic from its start: whatever a gateway
		// accepted before the first writer joined must be stored.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.OnPartitionsRevoked(b.onRevoked), kgo.OnPartitionsLost(b.onLost))
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	b.cons = cons
	ctx, cancel := context.WithCancel(context.Background())
	b.mu.Lock()
	b.stop = cancel
	if b.closed.Load() {
		cancel()
	}
	b.mu.Unlock()
	b.polling.Add(2)
	go b.poll(ctx)
	go b.commitLoop(ctx)
	return nil
}

// poll fetches records and hands them to the writers until Close.
func (b *Bus) poll(ctx context.Context) {
	defer b.polling.Done()
	defer close(b.ch)
	for ctx.Err() == nil {
		fetches := b.cons.PollRecords(ctx, 1000)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			b.logger.Warn("kafka fetch failed", "topic", topic, "partition", p, "err", err)
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			b.track.highWatermark(p.Partition, p.HighWatermark)
		})
		for _, r := range fetches.Records() {
			gen := b.track.add(r)
			m, err := decode(r.Value)
			if err != nil {
				// Skipped, counted and logged; committing past it keeps one
				// bad record from stopping the partition.
				b.badRecords.Inc()
				b.logger.Error("kafka record skipped", "partition", r.Partition, "offset", r.Offset, "err", err)
				b.track.ack(r.Partition, r.Offset, gen)
				continue
			}
			part, off := r.Partition, r.Offset
			m.OnAck(func() { b.track.ack(part, off, gen) })
			select {
			case b.ch <- m:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (b *Bus) commitLoop(ctx context.Context) {
	defer b.polling.Done()
	t := time.NewTicker(b.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := b.commit(ctx, nil); err != nil && ctx.Err() == nil {
				b.logger.Warn("kafka commit failed", "err", err)
			}
		}
	}
}

// commit commits the stored prefix of the given partitions (all if nil).
func (b *Bus) commit(ctx context.Context, parts []int32) error {
	offsets := b.track.committable(parts)
	if len(offsets) == 0 {
		return nil
	}
	toCommit := map[string]map[int32]kgo.EpochOffset{b.cfg.Topic: offsets}
	var cerr error
	b.cons.CommitOffsetsSync(ctx, toCommit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					cerr = fmt.Errorf("commit partition %d: %w", p.Partition, err)
				}
			}
		}
	})
	if cerr == nil {
		b.track.committed(offsets)
	}
	return cerr
}

// onRevoked runs when a rebalance takes partitions away: it waits a little
// for their records in flight to be stored, commits them and forgets the
// partitions, so that the next owner starts after what this writer stored.
func (b *Bus) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	parts := revoked[b.cfg.Topic]
	deadline := time.Now().Add(b.cfg.RevokeWait)
	for b.track.pending(parts) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond) // polling the writers' acknowledgements
	}
	if err := b.commit(ctx, parts); err != nil {
		b.logger.Warn("kafka commit on revoke failed", "err", err)
	}
	b.track.forget(parts)
}

// onLost runs when the group dropped this writer (session expired): its
// offsets cannot be committed any more.
func (b *Bus) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	b.track.forget(lost[b.cfg.Topic])
}

// tracker follows each partition's records from poll to store, so that the
// committed offset never passes a record that is not stored yet.
type tracker struct {
	mu    sync.Mutex
	parts map[int32]*partition
	gen   uint64
}

type partition struct {
	gen       uint64
	order     []int64 // offsets polled, ascending
	done      map[int64]bool
	epoch     int32
	next      int64 // offset to commit next (-1: nothing yet)
	committed int64 // last committed (-1: unknown)
	first     int64
	hw        int64
}

func newTracker() *tracker { return &tracker{parts: map[int32]*partition{}} }

func (t *tracker) part(p int32) *partition {
	pt := t.parts[p]
	if pt == nil {
		t.gen++
		pt = &partition{gen: t.gen, done: map[int64]bool{}, next: -1, committed: -1, first: -1}
		t.parts[p] = pt
	}
	return pt
}

func (t *tracker) add(r *kgo.Record) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.part(r.Partition)
	if pt.first < 0 {
		pt.first = r.Offset
	}
	pt.order = append(pt.order, r.Offset)
	pt.epoch = r.LeaderEpoch
	return pt.gen
}

func (t *tracker) ack(p int32, off int64, gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.parts[p]
	if pt == nil || pt.gen != gen {
		return // the partition moved to another writer meanwhile
	}
	pt.done[off] = true
	for len(pt.order) > 0 && pt.done[pt.order[0]] {
		delete(pt.done, pt.order[0])
		pt.next = pt.order[0] + 1
		pt.order = pt.order[1:]
	}
}

func (t *tracker) highWatermark(p int32, hw int64) {
	t.mu.Lock()
	t.part(p).hw = hw
	t.mu.Unlock()
}

func (t *tracker) committable(parts []int32) map[int32]kgo.EpochOffset {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[int32]kgo.EpochOffset{}
	for p, pt := range t.parts {
		if parts != nil && !contains(parts, p) {
			continue
		}
		if pt.next >= 0 && pt.next != pt.committed {
			out[p] = kgo.EpochOffset{Epoch: pt.epoch, Offset: pt.next}
		}
	}
	return out
}

func (t *tracker) committed(offsets map[int32]kgo.EpochOffset) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p, eo := range offsets {
		if pt := t.parts[p]; pt != nil {
			pt.committed = eo.Offset
		}
	}
}

func (t *tracker) pending(parts []int32) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range parts {
		if pt := t.parts[p]; pt != nil {
			n += len(pt.order)
		}
	}
	return n
}

func (t *tracker) inFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, pt := range t.parts {
		n += len(pt.order)
	}
	return n
}

func (t *tracker) forget(parts []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range parts {
		delete(t.parts, p)
	}
}

// lag is, over this writer's partitions, the records between the committed
// offset (or the first one it polled) and the high watermark.
func (t *tracker) lag() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, pt := range t.parts {
		from := pt.committed
		if from < 0 {
			from = pt.first
		}
		if from >= 0 && pt.hw > from {
			n += pt.hw - from
		}
	}
	return n
}

func contains(ps []int32, p int32) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

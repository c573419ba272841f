package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/inquest/inquest/domain"
)

// ErrFull means the bus has no room: the client should retry later (HTTP
// 429/503 with Retry-After, gRPC UNAVAILABLE). Nothing was accepted.
var ErrFull = errors.New("ingest queue is full")

// ErrClosed means the server is shutting down.
var ErrClosed = errors.New("ingest is shutting down")

// Message is a validated batch on its way to the writers; all records in it
// belong to one tenant.
type Message struct {
	Tenant  string
	Events  []domain.Event
	Samples []domain.Sample
	// Bytes is what the records hold in memory, roughly (storage's
	// MemSize): a queue bounded by records alone lets wide records use
	// gigabytes.
	Bytes int64
	// ack is set by the bus; the writer calls Ack once the store has the
	// records, which is when a Kafka bus commits the offset.
	ack func()
}

// Ack tells the bus that the message is stored.
func (m *Message) Ack() {
	if m.ack != nil {
		m.ack()
	}
}

// OnAck sets what Ack does; for Bus implementations outside this package.
func (m *Message) OnAck(fn func()) { m.ack = fn }

// Len is the number of records.
func (m *Message) Len() int { return len(m.Events) + len(m.Samples) }

// Bus carries validated records from the gateways to the writers. The
// in-process implementation is a bounded queue; the scaled one is a Kafka
// topic. Publish must never block indefinitely: when there is no room it
// returns ErrFull.
type Bus interface {
	Publish(ctx context.Context, m *Message) error
	// Consume calls handle for each message until the bus is closed and
	// drained (nil) or ctx ends (ctx.Err()). handle must not block for
	// long; the consumer calls m.Ack() once the message is stored.
	Consume(ctx context.Context, handle func(*Message)) error
	// Close stops accepting messages; Consume returns after the rest is
	// delivered.
	Close() error
	// Depth is the number of records waiting.
	Depth() int
}

// LocalBus is the embedded bus: a queue bounded by record count and,
// with SetByteLimit, by the memory its records hold.
type LocalBus struct {
	mu        sync.Mutex
	cond      *sync.Cond
	queue     []*Message
	records   int
	capacity  int
	bytes     int64
	byteLimit int64
	closed    bool
	// log, when set, holds every message from before its client is
	// acknowledged until it is stored; logging counts publishers
	// between their reservation and the queue.
	log     *WAL
	logging int
	// shares is what each tenant holds in the queue and when it last
	// published: past half full, no tenant may hold more than its share
	// while others are sending (see fair).
	shares map[string]*share
	now    func() time.Time
}

// share is one tenant's part of the queue.
type share struct {
	records int
	bytes   int64
	seen    time.Time
}

// activeFor is how long a tenant counts among those sending after its
// last publish (or refusal): long enough that a tenant sending a batch
// every few seconds keeps its share while another floods.
const activeFor = 10 * time.Second

var _ Bus = (*LocalBus)(nil)

// NewLocalBus makes a queue that holds at most capacity records.
func NewLocalBus(capacity int) *LocalBus {
	b := &LocalBus{capacity: capacity, shares: map[string]*share{}, now: time.Now}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// admit decides whether m fits, fairly. The queue is bounded by records
// and bytes; past half of either it is contended, and each tenant that
// holds records or published within activeFor may hold an equal part.
// A tenant past its part is refused (503) while it is past it; one within
// its part is let in even when the queue is full (the parts together are
// one bound, so past it the queue holds at most that much more), so
// that one tenant's flood, or a write-ahead log replaying one tenant's
// backlog after a restart, never refuses everyone. A tenant alone may use
// the whole queue. Called with the lock held.
func (b *LocalBus) admit(m *Message, now time.Time) error {
	holders := 0
	for t, sh := range b.shares {
		switch {
		case sh.records > 0 || now.Sub(sh.seen) < activeFor || t == m.Tenant:
			holders++
		default:
			delete(b.shares, t) // gone quiet and holds nothing
		}
	}
	mine := b.shares[m.Tenant]
	if mine == nil {
		holders++
		mine = &share{}
	}
	check := func(used, add, mineUsed, limit int64, what string) error {
		if limit <= 0 || used == 0 {
			return nil // unbounded, or empty: any one message fits
		}
		// A tenant holding nothing may always place one message, however
		// large its batch is beside its share.
		over := holders >= 2 && mineUsed > 0 && mineUsed+add > limit/int64(holders)
		switch {
		case used+add > limit && (over || holders < 2):
			return fmt.Errorf("%w (%d of %d %s queued)", ErrFull, used, limit, what)
		case over && used+add > limit/2:
			return fmt.Errorf("%w: tenant %s holds %d of the %d queued %s, more than its share (1/%d) while %d tenants send: try again shortly",
				ErrFull, m.Tenant, mineUsed, used, what, holders, holders)
		}
		return nil
	}
	if err := check(int64(b.records), int64(m.Len()), int64(mine.records), int64(b.capacity), "records"); err != nil {
		return err
	}
	return check(b.bytes, m.Bytes, mine.bytes, b.byteLimit, "bytes")
}

// OverShare says whether tenant holds more than an equal part of the
// queued bytes among the tenants holding or sending any, or is the only
// one holding something: near the memory limit those are refused first
// (a tenant holding nothing is let in; it is not what fills memory).
func (b *LocalBus) OverShare(tenant string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	mine := b.shares[tenant]
	if mine == nil || mine.bytes <= 0 && mine.records <= 0 {
		return false
	}
	holders := 0
	for _, sh := range b.shares {
		if sh.records > 0 || now.Sub(sh.seen) < activeFor {
			holders++
		}
	}
	return holders < 2 || mine.bytes > b.bytes/int64(holders) || mine.records > b.records/holders
}

// take charges a message to its tenant's share (n, size negative give
// back). Called with the lock held.
func (b *LocalBus) take(tenant string, n int, size int64, now time.Time) {
	sh := b.shares[tenant]
	if sh == nil {
		sh = &share{}
		b.shares[tenant] = sh
	}
	sh.records += n
	sh.bytes += size
	if n > 0 {
		sh.seen = now
	}
}

// SetLog makes the bus durable: Publish returns once the message is in
// the write-ahead log, and what the log kept from before a crash is queued
// first, beyond the limits. Call it before the bus is used.
func (b *LocalBus) SetLog(w *WAL) {
	b.log = w
	for _, m := range w.Replayed() {
		b.queue = append(b.queue, m)
		b.records += m.Len()
		b.bytes += m.Bytes
		b.take(m.Tenant, m.Len(), m.Bytes, time.Time{}) // held, but no tenant is sending yet
	}
}

// SetByteLimit bounds the bytes of the records queued or being written
// (0: none). Call it before the bus is used.
func (b *LocalBus) SetByteLimit(n int64) { b.byteLimit = n }

// Publish enqueues m, after writing it to the log if there is one, or
// returns ErrFull at once.
func (b *LocalBus) Publish(_ context.Context, m *Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	now := b.now()
	if err := b.admit(m, now); err != nil {
		b.take(m.Tenant, 0, 0, now)
		b.shares[m.Tenant].seen = now // a refused tenant is still sending
		return err
	}
	b.records += m.Len()
	b.bytes += m.Bytes
	b.take(m.Tenant, m.Len(), m.Bytes, now)
	if b.log != nil {
		// The room is held while the log writes (and fsyncs, with other
		// publishers' records), without the lock.
		b.logging++
		b.mu.Unlock()
		err := b.log.Append(m)
		b.mu.Lock()
		b.logging--
		if err != nil {
			b.records -= m.Len()
			b.bytes -= m.Bytes
			b.take(m.Tenant, -m.Len(), -m.Bytes, now)
			b.cond.Broadcast()
			return err
		}
	}
	b.queue = append(b.queue, m)
	b.cond.Broadcast()
	return nil
}

// Consume delivers messages to handle; several consumers may share a bus.
func (b *LocalBus) Consume(ctx context.Context, handle func(*Message)) error {
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	for {
		b.mu.Lock()
		for len(b.queue) == 0 && !(b.closed && b.logging == 0) && ctx.Err() == nil {
			b.cond.Wait()
		}
		if ctx.Err() != nil {
			b.mu.Unlock()
			return ctx.Err()
		}
		if len(b.queue) == 0 && b.closed {
			b.mu.Unlock()
			return nil
		}
		m := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		b.mu.Unlock()
		n, size, logged, tenant := m.Len(), m.Bytes, m.ack, m.Tenant
		m.ack = func() {
			b.mu.Lock()
			b.records -= n
			b.bytes -= size
			b.take(tenant, -n, -size, time.Time{})
			b.mu.Unlock()
			if logged != nil {
				logged() // the log's: the message is done
			}
		}
		handle(m)
	}
}

// Close stops accepting; queued messages are still delivered.
func (b *LocalBus) Close() error {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	return nil
}

// Depth is the number of records queued or being written.
func (b *LocalBus) Depth() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records
}

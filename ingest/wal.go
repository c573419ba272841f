package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inquest/inquest/storage"
)

// WAL is the embedded mode's ingest write-ahead log: a message is
// appended (and, with Sync, fsynced together with the messages appended
// at the same time) before the client is acknowledged, and marked done
// once the store has committed it. At start, what was appended and never
// marked done is queued again, so a crash loses nothing acknowledged.
//
// The log is a folder of segment files named by the sequence number of
// their first record. A record is a 17-byte header (kind, sequence,
// payload length, CRC-32C of the payload) and its payload. A data record
// holds an encoded Message; a done record only names a sequence number.
// Done records are written but not fsynced: a process crash keeps them
// (they are in the kernel's page cache), a machine crash may lose some,
// and then those messages are stored twice after the restart. Segments
// are deleted oldest first, each once every message in it is done: a done
// record may sit in a later segment than its message, so a segment goes
// only when every older one has.
type WAL struct {
	dir         string
	sync        bool
	segmentSize int64
	logger      *slog.Logger

	mu       sync.Mutex
	cond     *sync.Cond
	f        *os.File
	active   uint64 // first sequence number of the active segment
	size     int64
	next     uint64
	segs     []uint64       // first sequence numbers, oldest first; the active one last
	pending  map[uint64]int // unfinished messages by segment
	written  uint64         // highest sequence number written
	synced   uint64         // highest sequence number fsynced
	syncing  bool
	err      error // sticky: a log that failed to write refuses appends
	closed   bool
	replayed []*Message
	// replaying counts the replayed records not stored yet.
	replaying int

	fsyncs   prometheus.Histogram
	bytes    prometheus.Counter
	segments prometheus.GaugeFunc
	damaged  prometheus.Counter
}

// WALConfig configures the log.
type WALConfig struct {
	Dir string
	// Sync fsyncs appended records before Append returns (in groups);
	// without it a process crash loses nothing but a machine crash may.
	Sync bool
	// SegmentBytes is the size past which a new segment is started.
	SegmentBytes int64
}

const (
	walData byte = 1
	walDone byte = 2

	walHeader = 1 + 8 + 4 + 4
	// walMaxRecord bounds a record's payload as read back: a header
	// damaged into a huge length is a damaged record, not an allocation.
	walMaxRecord = 1 << 30
)

var (
	walCRC     = crc32.MakeTable(crc32.Castagnoli)
	walBuffers = sync.Pool{New: func() any { return new([]byte) }}
)

// OpenWAL opens (or creates) the log in cfg.Dir and reads back what was
// never marked done; Replayed hands those messages out once.
func OpenWAL(cfg WALConfig, reg prometheus.Registerer, logger *slog.Logger) (*WAL, error) {
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = 64 << 20
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("write-ahead log: %w", err)
	}
	w := &WAL{dir: cfg.Dir, sync: cfg.Sync, segmentSize: cfg.SegmentBytes, logger: logger, pending: map[uint64]int{}, next: 1,
		fsyncs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "inquest_wal_fsync_seconds", Help: "Time to fsync one group of write-ahead log records.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inquest_wal_bytes_total", Help: "Bytes appended to the ingest write-ahead log.",
		}),
		damaged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inquest_wal_damaged_segments_total", Help: "Segments whose tail could not be read back at start (a torn write); the rest of them was replayed.",
		}),
	}
	w.cond = sync.NewCond(&w.mu)
	w.segments = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "inquest_wal_segments", Help: "Segment files of the ingest write-ahead log.",
	}, func() float64 {
		w.mu.Lock()
		defer w.mu.Unlock()
		return float64(len(w.pending))
	})
	if reg != nil {
		for _, c := range []prometheus.Collector{w.fsyncs, w.bytes, w.damaged, w.segments} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register wal metrics: %w", err)
			}
		}
	}
	if err := w.recover(); err != nil {
		return nil, err
	}
	if err := w.openSegment(); err != nil {
		return nil, err
	}
	return w, nil
}

// Replayed returns the messages to queue again, once; each one's Ack marks
// it done.
func (w *WAL) Replayed() []*Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.replayed
	w.replayed = nil
	return out
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d.wal", first) }

// recover reads every segment: the data records not followed by their
// done record are replayed; segments with nothing left are deleted.
func (w *WAL) recover() error {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	var segs []uint64
	for _, e := range entries {
		if id, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), ".wal"), 10, 64); err == nil && strings.HasSuffix(e.Name(), ".wal") {
			segs = append(segs, id)
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i] < segs[j] })
	type open struct {
		seg uint64
		msg *Message
	}
	unfinished := map[uint64]open{}
	for _, seg := range segs {
		err := w.readSegment(seg, func(kind byte, seq uint64, payload []byte) {
			if seq >= w.next {
				w.next = seq + 1
			}
			switch kind {
			case walDone:
				delete(unfinished, seq)
			case walData:
				m, err := DecodeMessage(payload)
				if err != nil {
					w.logger.Error("write-ahead log: a record could not be decoded; it is skipped", "segment", segmentName(seg), "seq", seq, "err", err)
					return
				}
				unfinished[seq] = open{seg, m}
			}
		})
		if err != nil {
			return err
		}
		w.pending[seg] = 0
		w.segs = append(w.segs, seg)
	}
	seqs := make([]uint64, 0, len(unfinished))
	for seq := range unfinished {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	records := 0
	for _, seq := range seqs {
		o := unfinished[seq]
		w.pending[o.seg]++
		w.track(o.msg, o.seg, seq)
		n := o.msg.Len()
		inner := o.msg.ack
		o.msg.ack = func() {
			inner()
			w.replayStored(n)
		}
		w.replaying += n
		w.replayed = append(w.replayed, o.msg)
		records += n
	}

	w.trim(true)
	if len(seqs) > 0 {
		w.logger.Info("write-ahead log: queueing again what was not stored before the last stop", "messages", len(seqs), "records", records)
	}
	return nil
}

// readSegment calls fn for every whole record of the segment; a damaged
// tail (a write torn by a crash) ends the segment.
func (w *WAL) readSegment(seg uint64, fn func(kind byte, seq uint64, payload []byte)) error {
	raw, err := os.ReadFile(filepath.Join(w.dir, segmentName(seg)))
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	for len(raw) > 0 {
		if len(raw) < walHeader {
			break
		}
		kind, seq := raw[0], binary.LittleEndian.Uint64(raw[1:9])
		n, sum := binary.LittleEndian.Uint32(raw[9:13]), binary.LittleEndian.Uint32(raw[13:17])
		if (kind != walData && kind != walDone) || n > walMaxRecord || int64(n) > int64(len(raw)-walHeader) {
			break
		}
		payload := raw[walHeader : walHeader+int(n)]
		if crc32.Checksum(payload, walCRC) != sum {
			break
		}
		fn(kind, seq, payload)
		raw = raw[walHeader+int(n):]
	}
	if len(raw) > 0 {
		w.damaged.Inc()
		w.logger.Warn("write-ahead log: a segment ends in a damaged record (a write cut short by a crash); what came before it was read",
			"segment", segmentName(seg), "bytes_skipped", len(raw))
	}
	return nil
}

// track makes m's Ack mark it done in the log.
func (w *WAL) track(m *Message, seg, seq uint64) {
	inner := m.ack
	m.ack = func() {
		if inner != nil {
			inner()
		}
		w.done(seg, seq)
	}
}

func (w *WAL) openSegment() error {
	f, err := os.OpenFile(filepath.Join(w.dir, segmentName(w.next)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	w.f, w.active, w.size = f, w.next, 0
	if _, ok := w.pending[w.active]; !ok {
		w.pending[w.active] = 0
		w.segs = append(w.segs, w.active)
	}
	return nil
}

// Append writes m to the log and returns once it is there (fsynced, with
// Sync); m's Ack then marks it done. An error means m is not in the log
// and must not be acknowledged.
func (w *WAL) Append(m *Message) error {
	buf := walBuffers.Get().(*[]byte)
	defer walBuffers.Put(buf)
	// The header goes in front of the payload, filled in by write: one
	// buffer and one write per record.
	*buf = EncodeMessage(append((*buf)[:0], make([]byte, walHeader)...), m)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	seq := w.next
	if err := w.write(walData, seq, *buf); err != nil {
		return err
	}
	w.next++
	w.written = seq
	w.pending[w.active]++
	w.track(m, w.active, seq)
	for w.sync && w.synced < seq && w.err == nil {
		if w.syncing {
			w.cond.Wait()
			continue
		}
		w.groupSync()
	}
	if w.sync && w.synced < seq {
		return w.err
	}
	// m is in the log: a segment that cannot be rotated now fails the
	// appends after it, not this one.
	w.maybeRotate()
	return nil
}

// groupSync fsyncs everything written so far, without holding the lock
// while the disk works: appends that arrive meanwhile wait for the next
// group. Called with w.mu held.
func (w *WAL) groupSync() {
	w.syncing = true
	target, f := w.written, w.f
	w.mu.Unlock()
	start := time.Now()
	err := f.Sync()
	w.fsyncs.Observe(time.Since(start).Seconds())
	w.mu.Lock()
	w.syncing = false
	if err != nil {
		w.fail(fmt.Errorf("%w: write-ahead log fsync: %v", ErrFull, err))
	} else if target > w.synced {
		w.synced = target
	}
	w.cond.Broadcast()
}

// write appends one record, rec being its header's room and the payload
// after it; called with w.mu held.
func (w *WAL) write(kind byte, seq uint64, rec []byte) error {
	payload := rec[walHeader:]
	rec[0] = kind
	binary.LittleEndian.PutUint64(rec[1:9], seq)
	binary.LittleEndian.PutUint32(rec[9:13], uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[13:17], crc32.Checksum(payload, walCRC))
	_, err := w.f.Write(rec) // one write: a crash cannot separate its parts
	if err != nil {
		// A partial write leaves a damaged tail that recovery skips; the
		// log refuses further appends rather than write after it.
		w.fail(fmt.Errorf("%w: write-ahead log: %v", ErrFull, err))
		return w.err
	}
	n := int64(len(rec))
	w.size += n
	w.bytes.Add(float64(n))
	return nil
}

// fail makes the log refuse every later append (ingest answers 503 until
// a restart), and says why once. Called with w.mu held.
func (w *WAL) fail(err error) {
	if w.err == nil {
		w.logger.Error("write-ahead log failed: ingest is refused until the process restarts", "err", err)
	}
	w.err = err
}

// Prune closes the active segment when every message in it is done, so
// that it is deleted like the others: on a quiet server the active segment
// fills slowly, and records the store already holds (and retention may
// already have deleted there) would otherwise stay on disk until it fills
// or the process restarts. It is called on the retention loop, and
// deletes no rows of its own (it returns 0): the retention is the
// store's, and the log only ever needs what is not stored yet.
func (w *WAL) Prune(_ context.Context, _ storage.Retention, _ time.Time) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil {
		return 0, nil
	}
	if w.size > 0 && w.pending[w.active] == 0 {
		w.rotate()
	}
	w.trim(false)
	return 0, nil
}

// maybeRotate starts a new segment once the active one is full and no
// fsync is using it. Called with w.mu held.
func (w *WAL) maybeRotate() {
	if w.size < w.segmentSize {
		return
	}
	w.rotate()
}

// rotate syncs and closes the active segment and opens the next, unless
// an fsync is using it. Called with w.mu held.
func (w *WAL) rotate() {
	if w.syncing {
		return
	}
	f := w.f
	if err := f.Sync(); err != nil {
		w.fail(fmt.Errorf("%w: write-ahead log fsync: %v", ErrFull, err))
		return
	}
	w.synced = w.written
	_ = f.Close()
	if err := w.openSegment(); err != nil {
		w.fail(fmt.Errorf("%w: %v", ErrFull, err))
		return
	}
	w.trim(false)
}

// replayStored counts n replayed records stored.
func (w *WAL) replayStored(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.replaying -= n
}

// Replaying is how many of the records replayed at start are not stored
// yet: until it is 0, a read undercounts, so the process is not ready.
func (w *WAL) Replaying() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(w.replaying, 0)
}

// done marks a message stored; finished segments go.
func (w *WAL) done(seg, seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.pending[seg]--
	if w.err == nil {
		_ = w.write(walDone, seq, make([]byte, walHeader))
	}
	w.trim(false)
}

// trim deletes finished segments, oldest first, stopping at the first
// unfinished one or (unless all) at the active one.
func (w *WAL) trim(all bool) {
	for len(w.segs) > 0 {
		seg := w.segs[0]
		if w.pending[seg] > 0 || (seg == w.active && !all) {
			return
		}
		w.segs = w.segs[1:]
		delete(w.pending, seg)
		if err := os.Remove(filepath.Join(w.dir, segmentName(seg))); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.logger.Warn("write-ahead log: removing a finished segment failed", "segment", segmentName(seg), "err", err)
		}
	}
}

// Close syncs and closes the active segment. Messages appended and not
// done stay in the log for the next start.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.syncing {
		w.cond.Wait()
	}
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.trim(true)
	return err
}

package ingest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

func walMessage(tenant string, i int) *Message {
	e := domain.Event{Tenant: tenant, TimeUnixNano: int64(1e18) + int64(i), Kind: domain.KindSpan, Service: "checkout",
		Name: fmt.Sprint("op-", i), TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331", DurationNano: 1234,
		Status: domain.StatusError, Body: "ü", SampleRate: 1, ID: uint64(i) * 7, IngestedNano: 99}
	e.Attrs.Put("http.route", "/cart")
	e.NumAttrs.Put("http.status_code", 500)
	e.Resource.Put("host", "a")
	s := domain.Sample{Tenant: tenant, Name: "up", Type: domain.MetricGauge, TimeUnixNano: 5, Value: float64(i), SeriesID: 3}
	s.Labels.Put("pod", "p1")
	m := &Message{Tenant: tenant, Events: []domain.Event{e}, Samples: []domain.Sample{s}}
	m.Bytes = e.MemSize()
	return m
}

func TestWALCodecRoundTrip(t *testing.T) {
	m := walMessage("acme", 3)
	got, err := DecodeMessage(EncodeMessage(nil, m))
	require.NoError(t, err)
	assert.Equal(t, m.Tenant, got.Tenant)
	assert.Equal(t, m.Bytes, got.Bytes)
	assert.Equal(t, m.Events, got.Events)
	assert.Equal(t, m.Samples, got.Samples)

	_, err = DecodeMessage(EncodeMessage(nil, m)[:40])
	assert.ErrorIs(t, err, errWALRecord, "a cut record is refused, not misread")
}

// TestWALReplaysWhatWasNotDone: messages appended and not acknowledged by
// the writer come back after a restart, in order; acknowledged ones do not.
func TestWALReplaysWhatWasNotDone(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWAL(WALConfig{Dir: dir, Sync: true, SegmentBytes: 2 << 10}, nil, nil)
	require.NoError(t, err)
	var msgs []*Message
	for i := 0; i < 40; i++ {
		m := walMessage("acme", i)
		require.NoError(t, w.Append(m))
		msgs = append(msgs, m)
	}
	for i, m := range msgs {
		if i%3 != 0 {
			m.Ack()
		}
	}
	require.NoError(t, w.Close())

	w, err = OpenWAL(WALConfig{Dir: dir, Sync: true, SegmentBytes: 2 << 10}, nil, nil)
	require.NoError(t, err)
	again := w.Replayed()
	require.Len(t, again, 14)
	for i, m := range again {
		assert.Equal(t, fmt.Sprint("op-", i*3), m.Events[0].Name)
	}
	assert.Empty(t, w.Replayed(), "handed out once")
	records := 0
	for _, m := range again {
		records += m.Len()
	}
	assert.Equal(t, records, w.Replaying(), "not ready until the replayed records are stored")

	// Once they are stored, every finished segment is removed.
	for _, m := range again {
		m.Ack()
		records -= m.Len()
		assert.Equal(t, records, w.Replaying())
	}
	require.NoError(t, w.Close())
	left, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	assert.Empty(t, left)
	w, err = OpenWAL(WALConfig{Dir: dir}, nil, nil)
	require.NoError(t, err)
	assert.Empty(t, w.Replayed())
	require.NoError(t, w.Close())
}

// TestWALSegmentsGoOldestFirst: a finished segment stays while an older
// one is unfinished (it may hold that one's done records).
func TestWALSegmentsGoOldestFirst(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWAL(WALConfig{Dir: dir, SegmentBytes: 1 << 10}, nil, nil)
	require.NoError(t, err)
	var msgs []*Message
	for i := 0; i < 30; i++ {
		m := walMessage("acme", i)
		require.NoError(t, w.Append(m))
		msgs = append(msgs, m)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.Greater(t, len(segs), 3)
	for _, m := range msgs[1:] {
		m.Ack()
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	assert.Len(t, left, len(segs), "nothing goes while the first message is unfinished")
	msgs[0].Ack()
	left, _ = filepath.Glob(filepath.Join(dir, "*.wal"))
	assert.Len(t, left, 1, "then all but the active segment")
	require.NoError(t, w.Close())
}

// TestWALTornTail: a crash mid-write leaves part of a record; what came
// before it is replayed.
func TestWALTornTail(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWAL(WALConfig{Dir: dir}, nil, nil)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, w.Append(walMessage("acme", i)))
	}
	require.NoError(t, w.Close())
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	require.Len(t, segs, 1)
	info, err := os.Stat(segs[0])
	require.NoError(t, err)
	require.NoError(t, os.Truncate(segs[0], info.Size()-10))

	w, err = OpenWAL(WALConfig{Dir: dir}, nil, nil)
	require.NoError(t, err)
	assert.Len(t, w.Replayed(), 2)
	require.NoError(t, w.Close())
}

// TestDurableBus: the bus answers only once the log has the message, and a
// bus built over the same log after a crash delivers what was never
// stored.
func TestDurableBus(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWAL(WALConfig{Dir: dir, Sync: true}, nil, nil)
	require.NoError(t, err)
	bus := NewLocalBus(1000)
	bus.SetLog(w)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, bus.Publish(context.Background(), walMessage("acme", i)))
		}()
	}
	wg.Wait()
	// Store half, then "crash": the log is closed with the rest unstored.
	ctx, cancel := context.WithCancel(context.Background())
	stored := 0
	go func() {
		_ = bus.Consume(ctx, func(m *Message) {
			if stored < 10 {
				m.Ack()
			}
			if stored++; stored == 20 {
				cancel()
			}
		})
	}()
	<-ctx.Done()
	require.NoError(t, w.Close())

	w, err = OpenWAL(WALConfig{Dir: dir, Sync: true}, nil, nil)
	require.NoError(t, err)
	bus = NewLocalBus(1)
	bus.SetLog(w)
	assert.Equal(t, 20, bus.Depth(), "the ten replayed messages (two records each) are queued beyond the bus's limit")
	require.NoError(t, bus.Close())
	n := 0
	require.NoError(t, bus.Consume(context.Background(), func(m *Message) { n++; m.Ack() }))
	assert.Equal(t, 10, n)
	require.NoError(t, w.Close())
	left, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	assert.Empty(t, left)
}

// TestWALPruneQuietSegment: on a quiet server the active segment holds
// records long stored; the retention loop's Prune closes it once every
// message in it is done and it is deleted, so nothing of them is left on
// disk. A segment with an unfinished message stays.
func TestWALPruneQuietSegment(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWAL(WALConfig{Dir: dir}, nil, nil)
	require.NoError(t, err)
	defer w.Close()
	onDisk := func(s string) bool {
		files, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			if bytes.Contains(b, []byte(s)) {
				return true
			}
		}
		return false
	}
	a, b := walMessage("acme", 1), walMessage("acme", 2)
	require.NoError(t, w.Append(a))
	require.NoError(t, w.Append(b))
	a.Ack()
	_, err = w.Prune(context.Background(), storage.Retention{}, time.Now())
	require.NoError(t, err)
	assert.True(t, onDisk("op-1"), "kept while a message of its segment is unfinished")
	b.Ack()
	assert.True(t, onDisk("op-2"), "the active segment is not deleted by an ack")
	_, err = w.Prune(context.Background(), storage.Retention{}, time.Now())
	require.NoError(t, err)
	assert.False(t, onDisk("op-1"), "stored records leave the disk")
	assert.False(t, onDisk("op-2"))
	c := walMessage("acme", 3)
	require.NoError(t, w.Append(c), "the log goes on in a new segment")
	assert.True(t, onDisk("op-3"))
}

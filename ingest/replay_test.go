package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplayLineByLine: a line-delimited payload kept whole (as one bad
// line had whole requests kept before lines were isolated) replays line
// by line: the good lines go in, each line still broken is named, and the
// dead letter stays unreplayed until none is. A payload of no known shape
// is refused as not replayable, not as an internal error.
func TestReplayLineByLine(t *testing.T) {
	m := &memStore{}
	p, err := NewPipeline(DefaultConfig(), NewLocalBus(1<<20), m, nil, nil)
	require.NoError(t, err)
	ctx := context.Background()
	body := "{\"service\":\"s\",\"name\":\"a\"}\n{\"service\": \"s\", \"na\n{\"service\":\"s\",\"name\":\"b\"}\n"
	p.RejectPayload(ctx, "t", "events", FormatJSONEvents, []byte(body), "kept whole")
	p.RejectPayload(ctx, "t", "events", FormatJSONEvents, []byte("{\"service\": \"s\""), "cut off")
	require.Len(t, m.dead, 2)
	res, err := p.Replay(ctx, "t", m.dead[0].ID)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Accepted, "the lines around the broken one")
	assert.Equal(t, 1, res.Rejected)
	assert.Contains(t, strings.Join(res.Errors, "; "), "line 2 skipped")
	d, err := m.DeadLetter(ctx, "t", m.dead[0].ID)
	require.NoError(t, err)
	assert.Zero(t, d.ReplayedAtNano, "not replayed while a line is still broken")

	_, err = p.Replay(ctx, "t", m.dead[1].ID)
	assert.ErrorIs(t, err, ErrNotReplayable)
	assert.ErrorContains(t, err, "unexpected EOF")
}

// TestReplayValidatesAgain: a replay meets the rules its records first met.
// A live record older than the retention is refused again, and its dead
// letter stays to be dealt with; one refused as too far in the future goes
// in once the clock has caught up, and its dead letter is marked replayed;
// an import's record keeps its history, as the import did.
func TestReplayValidatesAgain(t *testing.T) {
	m := &memStore{}
	p, err := NewPipeline(DefaultConfig(), NewLocalBus(1<<20), m, nil, nil)
	require.NoError(t, err)
	clock := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return clock }
	ctx := context.Background()
	event := func(at time.Time) []byte {
		return []byte(fmt.Sprintf(`{"timestamp": %q, "service": "s", "name": "e"}`, at.Format(time.RFC3339)))
	}
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	p.RejectPayload(ctx, "t", "http", FormatJSONEvents, event(old), "queue full")
	p.RejectPayload(ctx, "t", "http", FormatJSONEvents, event(clock.Add(2*time.Hour)), "in the future")
	p.RejectPayload(ctx, "t", SourceImport, FormatJSONEvents, event(old), "queue full")
	require.Len(t, m.dead, 3)

	res, err := p.Replay(ctx, "t", m.dead[0].ID)
	require.NoError(t, err)
	assert.Equal(t, 0, res.Accepted)
	assert.Equal(t, 1, res.Rejected)
	assert.Contains(t, strings.Join(res.Errors, "; "), "older than the retention")
	d, _ := m.DeadLetter(ctx, "t", m.dead[0].ID)
	assert.Zero(t, d.ReplayedAtNano, "still to be dealt with")

	clock = clock.Add(3 * time.Hour)
	res, err = p.Replay(ctx, "t", m.dead[1].ID)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Accepted, "the clock caught up")
	d, _ = m.DeadLetter(ctx, "t", m.dead[1].ID)
	assert.Equal(t, clock.UnixNano(), d.ReplayedAtNano)

	res, err = p.Replay(ctx, "t", m.dead[2].ID)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Accepted, "an import keeps history")
}

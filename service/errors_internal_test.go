package service

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// TestFromStore is the one mapping from a store's errors to kinds.
func TestFromStore(t *testing.T) {
	assert.NoError(t, fromStore(nil, "x"))
	for _, c := range []struct {
		err  error
		what string
		kind Kind
		msg  string
	}{
		{fmt.Errorf("read: %w", storage.ErrNotFound), named("incident", "i1"), KindNotFound, `incident "i1" not found`},
		{fmt.Errorf("update: %w", storage.ErrConflict), named("proposal", "p1"), KindConflict, `proposal "p1" kept changing`},
		{storage.ErrConflict, "", KindConflict, "the record kept changing"},
		{fmt.Errorf("%w: no such column", domain.ErrBadQuery), "", KindInvalid, "no such column"},
		{fmt.Errorf("ch: %w", storage.ErrTooCostly), "", KindUnavailable, "narrow the time range"},
	} {
		got := fromStore(c.err, c.what)
		assert.Equal(t, c.kind, KindOf(got), "%v", c.err)
		assert.Contains(t, got.Error(), c.msg)
		assert.ErrorIs(t, got, c.err, "the cause is kept")
	}
	// A query is not a record: without a name, not-found stays what it is.
	assert.Equal(t, Kind(0), KindOf(fromStore(storage.ErrNotFound, "")))
	boom := errors.New("disk on fire")
	assert.Equal(t, boom, fromStore(boom, "x"), "anything else stays internal")
	assert.Equal(t, Kind(0), KindOf(fromStore(fmt.Errorf("q: %w", domain.ErrNoTenant), "")), "a missing tenant is a bug above, not the caller's")
}

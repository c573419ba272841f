package storage

import (
	"context"
	"errors"
	"fmt"
)

// Attempts bounds the tries of a compare-and-set: each lost race means
// someone else changed the record, and the change is decided again on what
// they left; past a handful the record is too contended to wait for.
const Attempts = 8

// CompareAndSet is the one retry loop of every compare-and-set change (an
// incident's, a proposal's): try reads the record (or takes what the last
// try left), decides and writes it against the version it read; a try that
// lost the race returns ErrConflict and is run again, with its attempt
// number, up to Attempts times. Any other error ends it.
func CompareAndSet(ctx context.Context, what string, try func(attempt int) error) error {
	for attempt := range Attempts {
		err := try(attempt)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("%s: %w", what, ErrConflict)
}

package service

import (
	"errors"
	"fmt"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

// Kind is the family of an error, the one thing a face needs to answer it:
// GraphQL maps it to an error code, MCP to a tool error, HTTP to a status.
type Kind int

// Error kinds. Anything that is not an *Error is internal: its text stays
// in the logs and the caller hears "internal error".
const (
	KindInvalid     Kind = iota + 1 // the request is wrong; say why
	KindNotFound                    // what it names does not exist for this tenant
	KindForbidden                   // the principal's role does not allow it
	KindConflict                    // the state changed or does not allow it (a lost race, a repeated action)
	KindUnavailable                 // try again later (a full queue, a component this process does not run)
)

var kindNames = map[Kind]string{KindInvalid: "invalid input", KindNotFound: "not found", KindForbidden: "forbidden",
	KindConflict: "conflict", KindUnavailable: "unavailable"}

func (k Kind) String() string { return kindNames[k] }

// Sentinels to test a kind with errors.Is, whatever the message.
var (
	ErrInvalid     = &Error{Kind: KindInvalid}
	ErrNotFound    = &Error{Kind: KindNotFound}
	ErrForbidden   = &Error{Kind: KindForbidden}
	ErrConflict    = &Error{Kind: KindConflict}
	ErrUnavailable = &Error{Kind: KindUnavailable}
)

// Error is an error whose message is meant for the caller.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // the cause, if any (kept for errors.Is, not shown)
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Kind.String()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error of the same kind, so that errors.Is(err,
// ErrNotFound) holds for every not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Msg == "" && t.Err == nil
}

func newErr(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// Invalid, NotFound, Forbidden, Conflict and Unavailable make errors of
// their kind with a message for the caller (fmt.Errorf's verbs, %w too).
func Invalid(format string, args ...any) error     { return newErr(KindInvalid, format, args...) }
func NotFound(format string, args ...any) error    { return newErr(KindNotFound, format, args...) }
func Forbidden(format string, args ...any) error   { return newErr(KindForbidden, format, args...) }
func Conflict(format string, args ...any) error    { return newErr(KindConflict, format, args...) }
func Unavailable(format string, args ...any) error { return newErr(KindUnavailable, format, args...) }

// invalid wraps an error of a lower layer whose message is meant for the
// caller (a storage validation error) as invalid input.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: KindInvalid, Msg: err.Error(), Err: err}
}

// KindOf is the kind of err, or 0 for an internal error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// fromStore is the one mapping from what a store returned to the kind a
// face answers with; what names the record for the caller ("incident
// \"x\"", or "" for a query). Anything it does not know stays internal.
func fromStore(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound) && what != "":
		return &Error{Kind: KindNotFound, Msg: what + " not found", Err: err}
	case errors.Is(err, storage.ErrConflict):
		if what == "" {
			what = "the record"
		}
		return &Error{Kind: KindConflict, Msg: what + " kept changing while this change was made: read it again", Err: err}
	case errors.Is(err, domain.ErrBadQuery):
		return invalid(err)
	case errors.Is(err, storage.ErrTooCostly):
		return &Error{Kind: KindUnavailable, Err: err,
			Msg: storage.ErrTooCostly.Error() + ": narrow the time range or the filters, or ask for fewer distinct counts and percentiles"}
	}
	return err
}

// named is how fromStore names one record: its kind and its quoted ID.
func named(kind, id string) string { return fmt.Sprintf("%s %q", kind, id) }

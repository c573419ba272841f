// Package scalars holds the GraphQL scalars written by hand (the rest of
// graph/ is generated).
package scalars

import (
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/service"
)

// MarshalTime writes a time as RFC3339 with nanoseconds, in UTC.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads RFC3339, or an expression relative to now (now,
// now-15m, now-7d), as people write ranges in Grafana.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, service.Invalid("a time is a string: RFC3339 or relative such as now-15m")
	}
	t, err := domain.ParseTime(s, time.Now())
	if err != nil {
		return time.Time{}, service.Invalid("%v", err) // the caller's mistake, said as such
	}
	return t, nil
}

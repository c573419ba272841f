package ingest

import (
	"fmt"
	"strings"
	"time"
)

// Summary is what a client is told about one payload or file: the JSON
// answer of /v1/events and /v1/ingest, and what `inquest import` prints, so
// that the two ways of importing explain themselves alike.
type Summary struct {
	Format string `json:"format,omitempty"`
	// Read is every record the payload held: accepted, merged, duplicate
	// and rejected ones.
	Read       int `json:"read"`
	Accepted   int `json:"accepted"`
	Merged     int `json:"merged"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	// Malformed counts lines of a line-delimited file that were not valid
	// records and were skipped.
	Malformed int      `json:"malformed,omitempty"`
	Errors    []string `json:"errors,omitempty"`
	// From and To bound the accepted records' timestamps (RFC3339); To is
	// rounded up to the second, so [From, To) holds every one of them.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// NewSummary describes a result.
func NewSummary(f Format, r *Result) Summary {
	s := Summary{Format: string(f), Accepted: r.Accepted, Merged: r.Merged, Duplicates: r.Duplicates,
		Rejected: r.Rejected, Malformed: r.Malformed, Errors: r.Errors}
	s.Read = s.Accepted + s.Merged + s.Duplicates + s.Rejected
	if r.FirstNano > 0 {
		s.From = time.Unix(0, r.FirstNano).UTC().Truncate(time.Second).Format(time.RFC3339)
		s.To = time.Unix(0, r.LastNano).UTC().Truncate(time.Second).Add(time.Second).Format(time.RFC3339)
	}
	return s
}

// Text renders the summary for a person, one fact a line, with a range to
// paste into a GraphQL query. verb says what became of the accepted
// records ("stored" once flushed, "accepted" when a server took them).
func (s Summary) Text(name, verb string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", name)
	if s.Format != "" {
		fmt.Fprintf(&b, "  format      %s\n", s.Format)
	}
	fmt.Fprintf(&b, "  read        %d record(s)\n", s.Read)
	fmt.Fprintf(&b, "  %-11s %d\n", verb, s.Accepted)
	if s.Merged > 0 {
		fmt.Fprintf(&b, "  merged      %d (fragments of a span reported more than once, folded into it)\n", s.Merged)
	} else {
		fmt.Fprintf(&b, "  merged      0\n")
	}
	fmt.Fprintf(&b, "  duplicates  %d (seen before within the dedup window)\n", s.Duplicates)
	fmt.Fprintf(&b, "  rejected    %d", s.Rejected)
	if s.Rejected > 0 {
		b.WriteString(" (kept as dead letters: query deadLetters)")
	}
	b.WriteByte('\n')
	if s.Malformed > 0 {
		fmt.Fprintf(&b, "  malformed   %d line(s) that are not valid records, skipped\n", s.Malformed)
	}
	for _, e := range s.Errors {
		fmt.Fprintf(&b, "    - %s\n", e)
	}
	if s.From != "" {
		fmt.Fprintf(&b, "  time range  %s to %s\n", s.From, s.To)
		fmt.Fprintf(&b, "  query with  range: {from: %q, to: %q}\n", s.From, s.To)
	}
	return b.String()
}

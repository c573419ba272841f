package ingest

import (
	"strings"
	"unicode/utf8"

	"github.com/inquest/inquest/domain"
)

// Invalid UTF-8 (a protobuf string field is bytes on the wire; proto
// decoders here do not check it) is replaced by U+FFFD rather than refused:
// a span whose name holds one bad byte is still worth keeping, and the
// stores and JSON clients take only valid text. This runs before
// validation and dedup, so a record's hash is that of what is stored.

// fixString replaces invalid UTF-8 in *s and reports whether it had to.
func fixString(s *string) bool {
	if utf8.ValidString(*s) {
		return false
	}
	*s = strings.ToValidUTF8(*s, "\uFFFD")
	return true
}

func fixAll(ss []string) bool {
	fixed := false
	for i := range ss {
		fixed = fixString(&ss[i]) || fixed
	}
	return fixed
}

// fixEvent makes every string of an event valid UTF-8; true when it had to.
func fixEvent(e *domain.Event) bool {
	fixed := false
	for _, s := range []*string{&e.Service, &e.Name, &e.TraceID, &e.SpanID, &e.ParentSpanID, &e.Severity, &e.Body} {
		fixed = fixString(s) || fixed
	}
	fixed = fixAll(e.Attrs.Keys) || fixed
	fixed = fixAll(e.Attrs.Values) || fixed
	fixed = fixAll(e.NumAttrs.Keys) || fixed
	fixed = fixAll(e.Resource.Keys) || fixed
	return fixAll(e.Resource.Values) || fixed
}

// fixSample makes a sample's name and labels valid UTF-8; true when it had
// to (its series id is then computed again).
func fixSample(s *domain.Sample) bool {
	fixed := fixString(&s.Name)
	fixed = fixAll(s.Labels.Keys) || fixed
	fixed = fixAll(s.Labels.Values) || fixed
	if fixed {
		s.SeriesID = 0
	}
	return fixed
}

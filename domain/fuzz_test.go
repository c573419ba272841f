package domain

import (
	"fmt"
	"testing"
	"time"
)

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"now", "now-15m", "now-7d", "now+1h30m", "2026-11-20T12:00:00Z", "now-1.5d", "now-", "now-5x", ""} {
		f.Add(s)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseTime(s, now)
		if d, err := ParseDuration(s); err == nil && d < 0 {
			t.Fatalf("negative duration %v from %q", d, s)
		}
	})
}

func FuzzParseField(f *testing.F) {
	for _, s := range []string{"service", "attr.http.route", "res.host.name", "attr.", "duration_ms", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fld, err := ParseField(s)
		if err == nil && fld.String() != s {
			t.Fatalf("ParseField(%q).String() = %q", s, fld.String())
		}
	})
}

// TestContentHashTellsFieldsApart: texts that run together the same way
// across two fields are two events, not a duplicate.
func TestContentHashTellsFieldsApart(t *testing.T) {
	a := Event{Tenant: "t", Service: "a\x00b", Name: "c"}
	b := Event{Tenant: "t", Service: "a", Name: "b\x00c"}
	if a.ContentHash() == b.ContentHash() {
		t.Fatal("two different events hash alike")
	}
	var c, d Event
	c.Tenant, d.Tenant = "t", "t"
	c.Attrs.Put("k", "v")
	d.Resource.Put("k", "v")
	if c.ContentHash() == d.ContentHash() {
		t.Fatal("an attribute and a resource attribute hash alike")
	}
	same := Event{Tenant: "t", Service: "a\x00b", Name: "c"}
	if same.ContentHash() != a.ContentHash() {
		t.Fatal("the same event hashes differently")
	}
}

// TestSortUnique: sorted by key, the last value of a repeated key kept —
// what Put one pair at a time gives, in O(n log n).
func TestSortUnique(t *testing.T) {
	var a, b Attrs
	for _, kv := range [][2]string{{"job", "x"}, {"b", "1"}, {"a", "1"}, {"job", "y"}, {"b", "2"}} {
		a.Append(kv[0], kv[1])
		b.Put(kv[0], kv[1])
	}
	a.SortUnique()
	b.Sort()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("SortUnique %v, Put %v", a, b)
	}
}

package domain

import (
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

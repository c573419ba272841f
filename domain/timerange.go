package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads an RFC3339 timestamp or a Grafana-style relative
// expression ("now", "now-15m", "now-7d", "now+1h"), relative to now.
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if !strings.HasPrefix(s, "now") {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: want RFC3339 (2006-01-02T15:04:05Z) or now-<n><unit>", s)
		}
		return t, nil
	}
	rest := s[len("now"):]
	if rest == "" {
		return now, nil
	}
	sign := time.Duration(1)
	switch rest[0] {
	case '-':
		sign = -1
	case '+':
	default:
		return time.Time{}, fmt.Errorf("time %q: expected now-<n><unit>", s)
	}
	d, err := ParseDuration(rest[1:])
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	return now.Add(sign * d), nil
}

// ParseDuration accepts Go durations plus the d (day) and w (week) units
// people use in dashboards ("7d", "2w", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("duration %q: expected a number", s)
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		var mult time.Duration
		switch unit {
		case "d":
			mult = 24 * time.Hour
		case "w":
			mult = 7 * 24 * time.Hour
		default:
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				return 0, fmt.Errorf("duration %q: unit %q: want ns, us, ms, s, m, h, d or w", s, unit)
			}
			total += d
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		total += time.Duration(f * float64(mult))
	}
	if total < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return total, nil
}

// TimeRange is a half-open interval [Start, End) in Unix nanoseconds.
type TimeRange struct {
	Start int64
	End   int64
}

// ParseTimeRange parses both ends and checks that from is before to.
func ParseTimeRange(from, to string, now time.Time) (TimeRange, error) {
	f, err := ParseTime(from, now)
	if err != nil {
		return TimeRange{}, fmt.Errorf("from: %w", err)
	}
	t, err := ParseTime(to, now)
	if err != nil {
		return TimeRange{}, fmt.Errorf("to: %w", err)
	}
	if !f.Before(t) {
		return TimeRange{}, fmt.Errorf("from (%s) must be before to (%s)", f.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	return TimeRange{Start: f.UnixNano(), End: t.UnixNano()}, nil
}

// Seconds is the length of the range in seconds.
func (r TimeRange) Seconds() float64 { return float64(r.End-r.Start) / 1e9 }

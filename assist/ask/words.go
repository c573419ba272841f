package ask

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// tokens splits a question into lower-case words, keeping what names and
// times are made of (dashes, dots, colons, underscores).
func tokens(q string) []string {
	q = strings.ToLower(q)
	q = strings.NewReplacer("'s ", " ", "’s ", " ", "'", "", "’", "").Replace(q + " ")
	var out []string
	for _, f := range strings.FieldsFunc(q, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == ':' || r == '_')
	}) {
		f = strings.Trim(f, ".:-")
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// distance is the Levenshtein distance of two words.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// near tells whether a typed word is the word meant: the same, or one
// typo away in a word of five letters or more (two in one of eight).
func near(typed, word string) bool {
	if typed == word {
		return true
	}
	d := distance(typed, word)
	return len(word) >= 5 && d <= 1 || len(word) >= 8 && d <= 2
}

// words is a question's tokens with lookups.
type words []string

// has tells whether any token is (near) any of the words, or starts with
// one of the stems given with a trailing "*".
func (w words) has(cands ...string) bool { return w.index(cands...) >= 0 }

func (w words) index(cands ...string) int {
	for i, t := range w {
		for _, c := range cands {
			if stem, ok := strings.CutSuffix(c, "*"); ok {
				if strings.HasPrefix(t, stem) || len(stem) >= 5 && (distance(t, stem) <= 1 || len(t) > len(stem) && distance(t[:len(stem)], stem) <= 1) {
					return i
				}
				continue
			}
			if near(t, c) {
				return i
			}
		}
	}
	return -1
}

// phrase tells whether the words appear in order, next to each other.
func (w words) phrase(p string) bool {
	ps := strings.Fields(p)
	for i := 0; i+len(ps) <= len(w); i++ {
		ok := true
		for j, x := range ps {
			if !near(w[i+j], x) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Window is a question's time window: relative ("now-1h") or absolute
// (RFC3339), as the tools take it.
type Window struct {
	From, To string
	Said     string // how the question put it, for the interpretation
}

var units = map[string]string{"m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
	"h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "d": "d", "day": "d", "days": "d", "w": "w", "week": "w", "weeks": "w"}

var compact = regexp.MustCompile(`^(\d+)(m|min|mins|h|hr|hrs|d|w)$`)

// clock reads 10:00, 9am, 14h30, 10 (after since).
var clockRE = regexp.MustCompile(`^(\d{1,2})(?::(\d{2}))?(am|pm)?$`)

// window reads the time the question asks about; ok is false when it
// names none.
func window(w words, now time.Time) (Window, bool) {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	for i, t := range w {
		switch t {
		case "last", "past", "previous", "recent", "over", "in", "within":
			if i+1 >= len(w) {
				continue
			}
			n, unit := 1, ""
			next := w[i+1]
			if next == "the" && i+2 < len(w) {
				next = w[i+2]
				i++
			}
			if m := compact.FindStringSubmatch(next); m != nil {
				n, _ = strconv.Atoi(m[1])
				unit = units[m[2]]
			} else if v, err := strconv.Atoi(next); err == nil && i+2 < len(w) {
				n, unit = v, units[w[i+2]]
			} else {
				unit = units[next]
			}
			if unit == "" || n <= 0 {
				continue
			}
			if unit == "w" {
				n, unit = n*7, "d"
			}
			if unit == "d" {
				n, unit = n*24, "h"
			}
			return Window{From: "now-" + strconv.Itoa(n) + unit, To: "now", Said: "the last " + strconv.Itoa(n) + unit}, true
		case "today":
			return Window{From: day.Format(time.RFC3339), To: "now", Said: "today"}, true
		case "yesterday":
			return Window{From: day.Add(-24 * time.Hour).Format(time.RFC3339), To: day.Format(time.RFC3339), Said: "yesterday"}, true
		case "since":
			if i+1 >= len(w) {
				continue
			}
			m := clockRE.FindStringSubmatch(w[i+1])
			if m == nil {
				continue
			}
			h, _ := strconv.Atoi(m[1])
			mi, _ := strconv.Atoi(m[2])
			if m[3] == "pm" && h < 12 {
				h += 12
			}
			if h > 23 || mi > 59 {
				continue
			}
			from := day.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute)
			if from.After(now) {
				from = from.Add(-24 * time.Hour)
			}
			return Window{From: from.Format(time.RFC3339), To: "now", Said: "since " + from.Format("15:04") + " UTC"}, true
		}
	}
	return Window{}, false
}

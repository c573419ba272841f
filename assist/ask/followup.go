package ask

import (
	"strings"
	"sync"
	"time"
)

// A conversation keeps the question before, so that a follow-up ("and
// its p50?", "only in eu-west", "and for payment?") is read with what it
// leaves unsaid. The parser reads the follow-up as one standalone
// question, written out in words, so the answer's reading shows exactly
// how it was taken.
type conversations struct {
	mu   sync.Mutex
	last map[string]turn
	ttl  time.Duration
	max  int
}

// turn is the question a conversation asked last, as it was read.
type turn struct {
	question string // standalone: follow-ups already written out
	plan     Plan
	at       time.Time
}

func newConversations() *conversations {
	return &conversations{last: map[string]turn{}, ttl: 30 * time.Minute, max: 10_000}
}

// get returns the conversation's last turn, if it is recent.
func (c *conversations) get(key string, now time.Time) (turn, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.last[key]
	if !ok || now.Sub(t.at) > c.ttl {
		return turn{}, false
	}
	return t, true
}

// put records a conversation's turn; past max conversations, those idle
// past the ttl go, and then the oldest.
func (c *conversations) put(key string, t turn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.last[key]; !ok && len(c.last) >= c.max {
		oldest, at := "", t.at
		for k, v := range c.last {
			if t.at.Sub(v.at) > c.ttl {
				delete(c.last, k)
			} else if v.at.Before(at) {
				oldest, at = k, v.at
			}
		}
		if len(c.last) >= c.max {
			delete(c.last, oldest)
		}
	}
	c.last[key] = t
}

// followUpCues mark a question that leans on the one before.
var followUpCues = []string{"its", "it", "that", "those", "them", "same", "there", "only", "instead", "also", "just", "now"}

// followUp writes a follow-up out as a standalone question, from the turn
// before; a question that says what it asks for by itself is left as it
// is. ok is false when q is no follow-up.
func followUp(q string, prev turn, services []string, now time.Time) (string, bool) {
	w := words(tokens(q))
	if len(w) == 0 || prev.question == "" {
		return q, false
	}
	svc := findService(w, services)
	_, saidWindow := window(w, now)
	cued := w.has(followUpCues...) || w[0] == "and" || w.phrase("what about") || w.phrase("how about") ||
		w.phrase("compare with") || w.phrase("compared to") || w[0] == "by" || w[0] == "for"
	own, understood := Parse(q, services, now, Window{})
	if !cued && (understood || svc == "") {
		return q, false // a question of its own (or one nobody could lean on)
	}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(q), "and "))
	rest = strings.TrimSuffix(rest, "?")
	if understood && own.Measure != "" {
		// It names what to measure: it lacks only where and when.
		out := rest
		if svc == "" && prev.plan.Service != "" {
			out += " of " + prev.plan.Service
		}
		if !saidWindow {
			if pw, said := window(words(tokens(prev.question)), now); said {
				out += " over " + pw.Said
			}
		}
		return out, true
	}
	// It narrows, groups or moves the question before: that question,
	// with the service it names instead, and what it adds.
	base := strings.TrimSuffix(strings.TrimSpace(prev.question), "?")
	if svc != "" && prev.plan.Service != "" && svc != prev.plan.Service {
		base = replaceWord(base, prev.plan.Service, svc)
		// What is left of "what about payment" or "for payment" is no
		// part of the question.
		left := strings.Fields(dropWord(rest, svc))
		for len(left) > 0 && fillers[strings.ToLower(left[0])] {
			left = left[1:]
		}
		rest = strings.Join(left, " ")
	}
	if rest == "" {
		return base, true
	}
	return base + " " + rest, true
}

var fillers = map[string]bool{"what": true, "how": true, "about": true, "for": true, "of": true, "with": true}

// replaceWord replaces the first whole-word, case-blind occurrence of old.
func replaceWord(s, old, repl string) string {
	i := strings.Index(strings.ToLower(s), strings.ToLower(old))
	if i < 0 {
		return s + " for " + repl
	}
	return s[:i] + repl + s[i+len(old):]
}

// dropWord removes a whole-word, case-blind occurrence of word.
func dropWord(s, word string) string {
	i := strings.Index(strings.ToLower(s), strings.ToLower(word))
	if i < 0 {
		return s
	}
	return strings.Join(strings.Fields(s[:i]+s[i+len(word):]), " ")
}

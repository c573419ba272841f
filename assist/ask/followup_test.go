package ask

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestFollowUps reads follow-ups as the questions they stand for, from
// the one before; questions of their own are left alone.
func TestFollowUps(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	services := []string{"checkout", "payment", "frontend"}
	prevOf := func(q string) turn {
		p, ok := Parse(q, services, now, Window{})
		if !ok {
			t.Fatalf("the first question %q is not understood", q)
		}
		return turn{question: q, plan: p, at: now}
	}
	for _, c := range []struct{ prev, q, want string }{
		{"p99 latency of checkout over the last hour", "and its p50?", "its p50 of checkout over the last 1h"},
		{"p99 latency of checkout over the last hour", "only in eu-west", "p99 latency of checkout over the last hour only in eu-west"},
		{"p99 latency of checkout over the last hour", "by region", "p99 latency of checkout over the last hour by region"},
		{"error rate of checkout in the last 30 minutes", "and for payment?", "error rate of payment in the last 30 minutes"},
		{"error rate of checkout in the last 30 minutes", "what about payment", "error rate of payment in the last 30 minutes"},
		{"p99 latency of checkout", "compare with yesterday", "p99 latency of checkout compare with yesterday"},
	} {
		got, ok := followUp(c.q, prevOf(c.prev), services, now)
		assert.True(t, ok, "%q after %q is a follow-up", c.q, c.prev)
		assert.Equal(t, c.want, got, "%q after %q", c.q, c.prev)
		p, understood := Parse(got, services, now, Window{})
		assert.True(t, understood, "%q is understood", got)
		if c.q == "and its p50?" {
			assert.Equal(t, "p50", p.Agg, "the p50, not the p99 before")
		}
		if c.q == "and for payment?" || c.q == "what about payment" {
			assert.Equal(t, "payment", p.Service)
		} else {
			assert.Equal(t, "checkout", p.Service, "%q keeps the service", got)
		}
	}
	// Questions of their own.
	for _, q := range []string{"p99 latency of payment over the last hour", "list the incidents", "which service has the most errors"} {
		got, ok := followUp(q, prevOf("p99 latency of checkout over the last hour"), services, now)
		assert.False(t, ok, q)
		assert.Equal(t, q, got)
	}
}

// TestConversationsForget: a conversation idle past its time is gone, and
// past the bound the oldest goes first.
func TestConversationsForget(t *testing.T) {
	c := newConversations()
	c.max = 2
	now := time.Now()
	c.put("a", turn{question: "qa", at: now})
	c.put("b", turn{question: "qb", at: now.Add(time.Second)})
	c.put("c", turn{question: "qc", at: now.Add(2 * time.Second)})
	_, ok := c.get("a", now.Add(2*time.Second))
	assert.False(t, ok, "the oldest made room")
	got, ok := c.get("c", now.Add(2*time.Second))
	assert.True(t, ok)
	assert.Equal(t, "qc", got.question)
	_, ok = c.get("b", now.Add(time.Hour))
	assert.False(t, ok, "idle past 30 minutes")
}

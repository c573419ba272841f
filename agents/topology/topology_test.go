package topology

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/inquest/inquest/domain"
)

func shop() Graph {
	return Graph{Edges: []domain.ServiceEdge{
		{Source: "frontend", Target: "checkout"}, {Source: "checkout", Target: "payment"},
		{Source: "checkout", Target: "cart"}, {Source: "payment", Target: "postgres"},
	}}
}

func TestHops(t *testing.T) {
	g := shop()
	f := func(a, b string, limit, want int) {
		t.Helper()
		assert.Equal(t, want, g.Hops(a, b, limit), "%s → %s", a, b)
	}
	f("payment", "payment", 2, 0)
	f("checkout", "payment", 2, 1)
	f("payment", "checkout", 2, 1) // either direction
	f("frontend", "payment", 2, 2)
	f("frontend", "postgres", 2, 3) // farther than the limit
	f("cart", "nowhere", 2, 3)
}

func TestRootFirst(t *testing.T) {
	svcs := []string{"frontend", "checkout", "payment"}
	shop().RootFirst(svcs)
	assert.Equal(t, []string{"payment", "checkout", "frontend"}, svcs, "the callee that calls none of them first")
	svcs = []string{"cart", "payment", "checkout"}
	shop().RootFirst(svcs)
	assert.Equal(t, []string{"cart", "payment", "checkout"}, svcs, "two roots keep their order")
	cyc := Graph{Edges: []domain.ServiceEdge{{Source: "a", Target: "b"}, {Source: "b", Target: "a"}}}
	svcs = []string{"a", "b"}
	cyc.RootFirst(svcs) // a cycle must not hang
	assert.Len(t, svcs, 2)
}

type source struct {
	calls int
	err   error
}

func (s *source) ServiceMap(context.Context, string, domain.TimeRange) ([]domain.ServiceEdge, error) {
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	return shop().Edges, nil
}

func TestCache(t *testing.T) {
	src := &source{}
	c := NewCache(src, 15*time.Minute, 30*time.Second, nil)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c.SetClock(func() time.Time { return now })
	assert.Len(t, c.Graph(context.Background(), "t1").Edges, 4)
	c.Graph(context.Background(), "t1")
	assert.Equal(t, 1, src.calls, "cached")
	c.Graph(context.Background(), "t2")
	assert.Equal(t, 2, src.calls, "per tenant")
	now = now.Add(31 * time.Second)
	src.err = errors.New("store down")
	assert.Len(t, c.Graph(context.Background(), "t1").Edges, 4, "a failed read keeps the last graph")
	assert.Equal(t, 3, src.calls)
}

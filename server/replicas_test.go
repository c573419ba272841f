package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/storage/storetest"
)

// TestTailAcrossReplicas runs two replicas sharing Redis: a subscription on
// replica A receives what replica B ingested.
func TestTailAcrossReplicas(t *testing.T) {
	addr, _ := storetest.StartRedis(t)
	url := "redis://" + addr + "/0"
	a := start(t, func(c *config.Config) { c.RedisURL = url })
	b := start(t, func(c *config.Config) { c.RedisURL = url })

	sub := a.gql.Websocket(`subscription { tail(filters: [{field: "service", op: EQ, value: "on-b"}]) { service name } }`)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			r, _ := http.NewRequest(http.MethodPost, b.url("/v1/events"), strings.NewReader(`{"service": "on-b", "name": "n"}`))
			r.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(r); err == nil {
				resp.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	var msg struct {
		Tail struct{ Service, Name string }
	}
	require.NoError(t, next(t, sub, &msg))
	assert.Equal(t, "on-b", msg.Tail.Service)
	// Replica A stored nothing itself: the event came through Redis.
	assert.Equal(t, 0.0, a.count(t, eq("service", "on-b")))
}

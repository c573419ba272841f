package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
)

// TestQueryCacheThroughGraphQL checks that a repeated aggregate over a past
// range is answered from the cache, per tenant, with the same answer.
func TestQueryCacheThroughGraphQL(t *testing.T) {
	s := start(t, func(c *config.Config) { c.QueryCache = true })
	code, msg, _ := post(t, s.url("/v1/ingest"), "application/json", []byte(`{"timestamp": "2018-11-30T10:00:00Z", "service": "c", "name": "n"}`),
		"X-Inquest-Import", "true")
	require.Equal(t, http.StatusOK, code, msg)
	// Wait on the store itself: a query through the cache before the write
	// lands would keep its empty answer for a minute.
	eventually(t, "stored", func() bool {
		var n int
		return s.Store().DB().QueryRow("SELECT count(*) FROM events WHERE service = 'c'").Scan(&n) == nil && n == 1
	})
	q := `{ aggregate(input: {range: {from: "2018-11-30T00:00:00Z", to: "2018-12-01T00:00:00Z"}}) { groups { values } } }`
	var resp struct {
		Aggregate struct{ Groups []struct{ Values []float64 } }
	}
	s.gql.MustPost(q, &resp)
	require.Equal(t, 1.0, resp.Aggregate.Groups[0].Values[0])
	for range 3 {
		s.gql.MustPost(q, &resp)
		assert.Equal(t, 1.0, resp.Aggregate.Groups[0].Values[0])
	}
	// Another tenant asking the same gets its own (empty) answer.
	s.gql.MustPost(q, &resp, client.AddHeader("X-Inquest-Tenant", "other"))
	assert.Equal(t, 0.0, resp.Aggregate.Groups[0].Values[0])

	m, err := http.Get(s.url("/metrics"))
	require.NoError(t, err)
	body, _ := io.ReadAll(m.Body)
	m.Body.Close()
	var hits string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, `inquest_query_cache_lookups_total{query="aggregate",result="hit"}`) {
			hits = line
		}
	}
	assert.Equal(t, `inquest_query_cache_lookups_total{query="aggregate",result="hit"} 3`, hits)
}

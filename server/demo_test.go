package server_test

import (
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/stretchr/testify/assert"

	"github.com/inquest/inquest/config"
)

// TestDemo runs the web-shop generator with its bad deploy one second in,
// and checks that the shop, the deploy event and the fault are all visible.
func TestDemo(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.Demo, c.DemoRate, c.DemoFaultAfter = true, 100, time.Second
	})
	runDemoChecks(t, s)
}

// The demo sends with a token of its own when authentication is on.
func TestDemoWithAuth(t *testing.T) {
	s := start(t, func(c *config.Config) {
		c.Demo, c.DemoRate, c.DemoFaultAfter, c.AuthJWTSecret = true, 100, time.Second, jwtSecret
	})
	s.gql = client.New(s.Handler(), client.Path("/graphql"), client.AddHeader("Authorization", "Bearer "+token(t, "default", time.Hour)))
	runDemoChecks(t, s)
}

func runDemoChecks(t *testing.T, s *testServer) {
	t.Helper()
	var svcs struct{ Services []struct{ Name string } }
	eventually(t, "at least 7 services", func() bool {
		s.gql.MustPost(`query($r: TimeRangeInput!) { services(range: $r) { name } }`, &svcs, client.Var("r", lastHour))
		return len(svcs.Services) >= 7
	})
	eventually(t, "deploy event", func() bool {
		return s.count(t, eq("kind", "event"), eq("service", "payment"), eq("name", "deploy"), eq("attr.version", "2.3.1")) == 1
	})
	eventually(t, "stripe_v3 errors on 2.3.1", func() bool {
		return s.count(t, eq("service", "payment"), eq("attr.payment_provider", "stripe_v3"),
			eq("attr.version", "2.3.1"), eq("status", "error"), eq("kind", "span")) > 0
	})
	// Other providers on the bad version do not fail.
	assert.Equal(t, 0.0, s.count(t, eq("service", "payment"), eq("attr.payment_provider", "paypal"), eq("status", "error")))
	// Logs and the shop's attributes are there too.
	assert.Positive(t, s.count(t, eq("kind", "log"), eq("service", "frontend")))
	assert.Positive(t, s.count(t, eq("attr.http.route", "/checkout"), eq("service", "frontend")))
	for _, region := range []string{"us-east", "eu-west"} {
		assert.Positive(t, s.count(t, eq("attr.region", region)))
	}
}

package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompbmarshal"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/redisstore"
	"github.com/inquest/inquest/storage/storetest"
)

// TestScaledDeployment runs the scaled stack on real parts: two gateways
// and a writer meeting on a Kafka topic (kfake), events in a real
// ClickHouse, metrics in a real VictoriaMetrics, the tail fanned out
// through a real Redis. A subscription on gateway A sees what gateway B
// took in, and both answer queries from the shared stores.
func TestScaledDeployment(t *testing.T) {
	chAddr, _ := storetest.StartClickHouse(t)
	vmURL, _ := storetest.StartVictoriaMetrics(t)
	redisAddr, _ := storetest.StartRedis(t)
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	t.Cleanup(kc.Close)
	scaled := func(role string) func(*config.Config) {
		return func(c *config.Config) {
			c.Role = role
			c.ClickHouseDSN = "clickhouse://" + chAddr + "/inquest_scaled"
			c.VictoriaMetricsURL = vmURL
			c.KafkaBrokers = kc.ListenAddrs()
			c.KafkaPartitions = 4
			c.RedisURL = "redis://" + redisAddr + "/0"
		}
	}
	writer := start(t, scaled("writer"))
	a := start(t, scaled("gateway"))
	b := start(t, scaled("gateway"))

	// A writer answers health checks and metrics, not queries or data.
	for path, want := range map[string]int{"/readyz": http.StatusOK, "/metrics": http.StatusOK, "/graphql": http.StatusNotFound, "/v1/events": http.StatusNotFound} {
		resp, err := http.Get(writer.url(path))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, path)
	}
	assert.Empty(t, writer.Addrs().GRPC, "no OTLP listener on a writer")

	sub := a.gql.Websocket(`subscription { tail(filters: [{field: "service", op: EQ, value: "scaled-b"}]) { service name } }`)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			body := fmt.Sprintf(`{"service": "scaled-b", "name": "op", "attributes": {"seq": %d}}`, i)
			r, _ := http.NewRequest(http.MethodPost, b.url("/v1/events"), strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(r); err == nil {
				resp.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	var msg struct {
		Tail struct{ Service, Name string }
	}
	require.NoError(t, next(t, sub, &msg))
	assert.Equal(t, "scaled-b", msg.Tail.Service, "gateway A's subscription sees what gateway B took in")

	// Both gateways answer from ClickHouse; no embedded store holds events.
	eventually(t, "events in ClickHouse, seen from A", func() bool { return a.count(t, eq("service", "scaled-b")) >= 2 })
	assert.Positive(t, b.count(t, eq("service", "scaled-b")))
	for _, s := range []*testServer{a, b, writer} {
		var n int
		require.NoError(t, s.Store().DB().QueryRow("SELECT count(*) FROM events").Scan(&n))
		assert.Zero(t, n, "the embedded store holds no events in scaled mode")
	}

	// Metrics by remote write to B, read through A from VictoriaMetrics,
	// by the structured query and by raw PromQL.
	now := time.Now()
	var series []prompbmarshal.TimeSeries
	for i := 0; i < 3; i++ {
		series = append(series, prompbmarshal.TimeSeries{
			Labels: []prompbmarshal.Label{{Name: "__name__", Value: "checkout_requests_total"}, {Name: "pod", Value: fmt.Sprint("p", i)}},
			Samples: []prompbmarshal.Sample{{Value: 10, Timestamp: now.Add(-20 * time.Second).UnixMilli()},
				{Value: 40, Timestamp: now.Add(-10 * time.Second).UnixMilli()}},
		})
	}
	code, text, _ := post(t, b.url("/api/v1/write"), "application/x-protobuf", remoteWrite(t, series...),
		"Content-Encoding", "snappy", "X-Prometheus-Remote-Write-Version", "0.1.0")
	require.Equal(t, http.StatusNoContent, code, text)
	var ms struct {
		MetricSeries []struct {
			Type   string
			Labels []struct{ Key, Value string }
			Points []struct{ Value float64 }
		}
	}
	// Through Kafka, a writer and VictoriaMetrics' in-memory buffers: on a
	// loaded two-core machine this took longer than the usual 20 s once.
	require.Eventually(t, func() bool {
		a.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(input: {name: "checkout_requests_total", range: $r, step: "1h",
			function: MAX, aggregate: true}) { type points { value } } }`, &ms, client.Var("r", lastHour))
		return len(ms.MetricSeries) == 1 && len(ms.MetricSeries[0].Points) > 0 && ms.MetricSeries[0].Points[0].Value == 120
	}, time.Minute, 50*time.Millisecond, "samples in VictoriaMetrics, seen from A")
	a.gql.MustPost(`query($r: TimeRangeInput!) { metricSeries(promql: "count by (__name__) (checkout_requests_total)",
		input: {range: $r, step: "1m"}) { labels { key value } points { value } } }`, &ms, client.Var("r", lastHour))
	require.NotEmpty(t, ms.MetricSeries)
	last := ms.MetricSeries[0].Points[len(ms.MetricSeries[0].Points)-1]
	assert.Equal(t, 3.0, last.Value, "raw PromQL over the tenant's series")

	err = a.gql.Post(`query($r: TimeRangeInput!) { metricSeries(promql: "sum(rate(", input: {range: $r}) { name } }`,
		&ms, client.Var("r", lastHour))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unexpected token", "a PromQL syntax error is shown as it is")

	incidentsAcrossReplicas(t, a, b, redisAddr)
	investigationsAcrossReplicas(t, a, b)
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rc.Close()
	racingApprovals(t, a, b, redisstore.NewProposals(rc, "inquest:"))

	// Ready means every backend answers.
	resp, err := http.Get(a.url("/readyz"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestRawPromQLNeedsVictoriaMetrics(t *testing.T) {
	s := start(t)
	var resp struct{ MetricSeries []struct{ Name string } }
	err := s.gql.Post(`query($r: TimeRangeInput!) { metricSeries(promql: "up", input: {range: $r}) { name } }`,
		&resp, client.Var("r", lastHour))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "raw PromQL needs VictoriaMetrics")
	err = s.gql.Post(`query($r: TimeRangeInput!) { metricSeries(input: {range: $r}) { name } }`, &resp, client.Var("r", lastHour))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "metric name is required")
}

// incidentsAcrossReplicas: anomalies and incidents live in Redis, shared by
// every replica. An incident stored as the writer's detector stores it is
// acknowledged through gateway A, read back acknowledged through gateway
// B and streamed by B's subscription; two acknowledgements racing through
// A and B make one transition and one audit entry.
func incidentsAcrossReplicas(t *testing.T, a, b *testServer, redisAddr string) {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rc.Close()
	shared := redisstore.NewIncidents(rc, "inquest:")
	ctx := context.Background()
	open := func(id string) {
		now := time.Now().UnixNano()
		require.NoError(t, shared.UpdateIncident(ctx, domain.Incident{Tenant: "default", ID: id, Title: "payment: p99 latency 1.8 s",
			Severity: "high", Status: domain.IncidentOpen, Services: []string{"payment"}, OpenedNano: now, UpdatedNano: now,
			Timeline: []domain.IncidentEvent{{TimeUnixNano: now, Kind: "opened", Text: "opened"}}}, 0))
	}
	open("inc-shared")

	sub := b.gql.Websocket(`subscription { incidentUpdated { id status acknowledgedBy } }`)
	defer sub.Close()
	var ack struct {
		AcknowledgeIncident struct{ Status string }
	}
	a.gql.MustPost(`mutation { acknowledgeIncident(id: "inc-shared") { status } }`, &ack)
	assert.Equal(t, "acknowledged", ack.AcknowledgeIncident.Status)
	var one struct {
		Incident struct{ Status, AcknowledgedBy string }
	}
	b.gql.MustPost(`{ incident(id: "inc-shared") { status acknowledgedBy } }`, &one)
	assert.Equal(t, "acknowledged", one.Incident.Status, "gateway B reads what gateway A changed")
	var upd struct {
		IncidentUpdated struct{ ID, Status, AcknowledgedBy string }
	}
	require.NoError(t, next(t, sub, &upd))
	assert.Equal(t, "inc-shared", upd.IncidentUpdated.ID)
	assert.Equal(t, "acknowledged", upd.IncidentUpdated.Status, "B's subscription streams A's change")

	open("inc-race")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, gw := range []*testServer{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct{ AcknowledgeIncident struct{ Status string } }
			errs[i] = gw.gql.Post(`mutation { acknowledgeIncident(id: "inc-race") { status } }`, &out)
		}()
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			assert.Contains(t, err.Error(), "not open", "the loser hears why")
		}
	}
	assert.Equal(t, 1, failed, "one of two racing acknowledgements wins: %v", errs)
	entries := 0
	for _, gw := range []*testServer{a, b} {
		var log struct {
			AuditLog []struct{ Action, Target string }
		}
		gw.gql.MustPost(`{ auditLog(range: {from: "now-1h", to: "now+1m"}) { action target } }`, &log)
		for _, e := range log.AuditLog {
			if e.Action == "incident.acknowledge" && e.Target == "inc-race" {
				entries++
			}
		}
	}
	assert.Equal(t, 1, entries, "one transition, one audit entry")
}

// investigationsAcrossReplicas: investigations live in Redis too. One
// started through gateway A (on the incident the previous check made) is
// followed to its end on gateway B's investigationProgress, read on B,
// and is B's answer for the incident's investigation.
func investigationsAcrossReplicas(t *testing.T, a, b *testServer) {
	t.Helper()
	var started struct{ StartInvestigation struct{ ID string } }
	a.gql.MustPost(`mutation { startInvestigation(input: {incidentId: "inc-shared"}) { id } }`, &started)
	id := started.StartInvestigation.ID
	sub := b.gql.Websocket(fmt.Sprintf(`subscription { investigationProgress(id: %q) { seq kind } }`, id))
	defer sub.Close()
	for seq := 1; ; seq++ {
		var line struct {
			InvestigationProgress struct {
				Seq  int
				Kind string
			}
		}
		require.NoError(t, next(t, sub, &line))
		require.Equal(t, seq, line.InvestigationProgress.Seq)
		if line.InvestigationProgress.Kind == "done" {
			break
		}
	}
	var got struct {
		Incident struct{ Investigation struct{ ID, Status string } }
	}
	b.gql.MustPost(`{ incident(id: "inc-shared") { investigation { id status } } }`, &got)
	assert.Equal(t, id, got.Incident.Investigation.ID, "B reads the investigation A started")
	assert.Equal(t, "done", got.Incident.Investigation.Status)
}

package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/inquest/inquest/config"
)

func ndjson(service string, n int) []byte {
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"service": %q, "name": "e%d"}`, service, i))
	}
	return []byte(strings.Join(lines, "\n"))
}

func TestTenantRateLimit(t *testing.T) {
	s := start(t, func(c *config.Config) { c.TenantEventsPerSecond, c.TenantBurst = 10, 100 })
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", ndjson("rl", 100), "X-Inquest-Tenant", "acme")
	require.Equal(t, http.StatusOK, code, msg)
	code, msg, hdr := post(t, s.url("/v1/events"), "application/x-ndjson", ndjson("rl", 50), "X-Inquest-Tenant", "acme")
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Contains(t, msg, "tenant acme: ingest rate limit of 10 records/s exceeded")
	wait, err := strconv.Atoi(hdr.Get("Retry-After"))
	require.NoError(t, err)
	assert.InDelta(t, 5, wait, 1, "50 records at 10/s")
	code, _, _ = post(t, s.url("/v1/events"), "application/x-ndjson", ndjson("rl", 100), "X-Inquest-Tenant", "globex")
	assert.Equal(t, http.StatusOK, code, "another tenant is not affected")
	// Recovery: once the bucket refills, the same tenant is accepted again.
	eventually(t, "acme accepted again after the limit", func() bool {
		req, _ := http.NewRequest(http.MethodPost, s.url("/v1/events"), strings.NewReader(string(ndjson("rl2", 5))))
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("X-Inquest-Tenant", "acme")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	code, msg, _ = post(t, s.url("/v1/events"), "application/x-ndjson", ndjson("rl", 101), "X-Inquest-Tenant", "initech")
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Contains(t, msg, "more than the burst of 100")

	// OTLP/gRPC: RESOURCE_EXHAUSTED with RetryInfo, which exporters honour.
	conn, err := grpc.NewClient(s.Addrs().GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	td := oneSpan("x")
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-inquest-tenant", "acme")
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	require.Error(t, err)
	st := status.Convert(err)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	require.Len(t, st.Details(), 1)
	ri, ok := st.Details()[0].(*errdetails.RetryInfo)
	require.True(t, ok)
	assert.Positive(t, ri.RetryDelay.AsDuration())
}

func TestTenantByteQuota(t *testing.T) {
	s := start(t, func(c *config.Config) { c.TenantBytesPerDay = 3000 })
	body := ndjson("bq", 40) // about 1.34 KB
	for range 2 {
		code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", body)
		require.Equal(t, http.StatusOK, code, msg)
	}
	code, msg, hdr := post(t, s.url("/v1/events"), "application/x-ndjson", body)
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Contains(t, msg, "daily ingest quota of 3000 bytes used up")
	assert.NotEmpty(t, hdr.Get("Retry-After"))
	code, _, _ = post(t, s.url("/v1/events"), "application/x-ndjson", body, "X-Inquest-Tenant", "other")
	assert.Equal(t, http.StatusOK, code)
}

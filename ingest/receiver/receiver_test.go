package receiver_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/ingest/receiver"
	"github.com/inquest/inquest/storage"
)

type nopDLQ struct{ storage.DeadLetterStore }

func (nopDLQ) PutDeadLetters(context.Context, []domain.DeadLetter) error { return nil }

// A bus nobody consumes fills up: ingest must push back, not drop.
func fullPipeline(t *testing.T) *ingest.Pipeline {
	t.Helper()
	bus := ingest.NewLocalBus(1)
	p, err := ingest.NewPipeline(ingest.DefaultConfig(), bus, nopDLQ{}, nil, nil)
	require.NoError(t, err)
	// One record of the tenant the requests come from fills the queue (a
	// tenant holding nothing of a full queue may still place one batch:
	// the queue is shared fairly).
	_, err = p.Accept(context.Background(), ingest.Input{Tenant: auth.DefaultTenant, Source: "test",
		Batch: &ingest.Batch{Events: []domain.Event{{TimeUnixNano: time.Now().UnixNano(), Kind: domain.KindEvent, Service: "s", Name: "n"}}}})
	require.NoError(t, err)
	return p
}

func TestFullQueueHTTP(t *testing.T) {
	rc := receiver.New(receiver.Config{RetryAfter: 2 * time.Second}, fullPipeline(t), nil)
	mux := http.NewServeMux()
	rc.Register(mux)
	srv := httptest.NewServer(auth.HeaderTenant(mux))
	defer srv.Close()

	for _, c := range []struct{ path, ct string }{
		{"/v1/events", "application/json"},
		{"/v1/ingest", "application/json"},
		{"/v1/traces", "application/json"},
	} {
		body := `{"service": "s", "name": "other"}`
		if c.path == "/v1/traces" {
			body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","startTimeUnixNano":"` +
				strconv.FormatInt(time.Now().UnixNano(), 10) + `","endTimeUnixNano":"` + strconv.FormatInt(time.Now().UnixNano(), 10) + `"}]}]}]}`
		}
		resp, err := http.Post(srv.URL+c.path, c.ct, bytes.NewBufferString(body))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, c.path)
		assert.Equal(t, "2", resp.Header.Get("Retry-After"), c.path)
	}
}

func TestFullQueueGRPC(t *testing.T) {
	rc := receiver.New(receiver.DefaultConfig(), fullPipeline(t), nil)
	s := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.UnaryHeaderTenant))
	rc.RegisterGRPC(s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(ln) }()
	defer s.Stop()

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("x")
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	require.Error(t, err)
	assert.Equal(t, codes.Unavailable, status.Code(err), "retryable, as the OTLP spec asks")
	assert.Contains(t, err.Error(), "ingest queue is full")
}

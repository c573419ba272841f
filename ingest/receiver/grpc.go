package receiver

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	gproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/ingest/otlp"
)

// GRPCCodec is gRPC's proto codec with OTLP's record limit checked on the
// wire before a request is decoded: 16 MiB of empty spans would otherwise
// become 8 million objects and gigabytes of memory before any handler ran.
// Give it to the server with grpc.ForceServerCodecV2.
func GRPCCodec() encoding.CodecV2 { return limitCodec{encoding.GetCodecV2(gproto.Name)} }

type limitCodec struct{ encoding.CodecV2 }

// minBytesForLimit is the smallest body that can hold more records than
// the limit (two bytes an empty record): smaller ones are not counted.
const minBytesForLimit = 2 * otlp.MaxRecordsPerRequest

func (c limitCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if data.Len() > minBytesForLimit {
		if err := otlp.CheckWire(data.Materialize()); err != nil {
			return err
		}
	}
	return c.CodecV2.Unmarshal(data, v)
}

// RegisterGRPC adds the three OTLP services to a gRPC server.
func (rc *Receiver) RegisterGRPC(s *grpc.Server) {
	ptraceotlp.RegisterGRPCServer(s, &traceService{rc: rc})
	plogotlp.RegisterGRPCServer(s, &logService{rc: rc})
	pmetricotlp.RegisterGRPCServer(s, &metricService{rc: rc})
}

// acceptGRPC maps pipeline outcomes to gRPC: UNAVAILABLE (retryable) when
// the queue is full, partial success for refused records.
func (rc *Receiver) acceptGRPC(ctx context.Context, f ingest.Format, batch *ingest.Batch) (*ingest.Result, error) {
	tenant, ok := auth.TenantFrom(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no tenant for this request")
	}
	res, err := rc.pipeline.Accept(ctx, ingest.Input{Tenant: tenant, Source: "otlp-grpc", Format: f, Batch: batch})
	var qe *ingest.QuotaError
	if errors.As(err, &qe) {
		// Retryable for OTLP exporters only with RetryInfo.
		st, derr := status.New(codes.ResourceExhausted, err.Error()).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(qe.RetryAfter)})
		if derr != nil {
			return nil, status.Error(codes.ResourceExhausted, err.Error())
		}
		return nil, st.Err()
	}
	if errors.Is(err, ingest.ErrFull) || errors.Is(err, ingest.ErrClosed) {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	if err != nil {
		return nil, status.Error(codes.Internal, "ingest failed")
	}
	return res, nil
}

type traceService struct {
	ptraceotlp.UnimplementedGRPCServer
	rc *Receiver
}

func (s *traceService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	resp := ptraceotlp.NewExportResponse()
	if err := otlp.CheckTraces(req.Traces()); err != nil {
		return resp, status.Error(codes.InvalidArgument, err.Error())
	}
	res, err := s.rc.acceptGRPC(ctx, ingest.FormatOTLPTracesProto, &ingest.Batch{Events: otlp.Traces(req.Traces()),
		Bytes: int64((&ptrace.ProtoMarshaler{}).TracesSize(req.Traces()))})
	if err != nil {
		return resp, err
	}
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.ErrorSummary())
	}
	return resp, nil
}

type logService struct {
	plogotlp.UnimplementedGRPCServer
	rc *Receiver
}

func (s *logService) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	resp := plogotlp.NewExportResponse()
	if err := otlp.CheckLogs(req.Logs()); err != nil {
		return resp, status.Error(codes.InvalidArgument, err.Error())
	}
	res, err := s.rc.acceptGRPC(ctx, ingest.FormatOTLPLogsProto, &ingest.Batch{Events: otlp.Logs(req.Logs()),
		Bytes: int64((&plog.ProtoMarshaler{}).LogsSize(req.Logs()))})
	if err != nil {
		return resp, err
	}
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.ErrorSummary())
	}
	return resp, nil
}

type metricService struct {
	pmetricotlp.UnimplementedGRPCServer
	rc *Receiver
}

func (s *metricService) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	resp := pmetricotlp.NewExportResponse()
	m, err := otlp.MetricsWith(req.Metrics(), s.rc.pipeline.DecodeOptions().Promoted())
	if err != nil {
		// Too large to convert: permanent, as HTTP's 413 is (a retry
		// of the same request cannot fit).
		return resp, status.Error(codes.InvalidArgument, err.Error())
	}
	res, err := s.rc.acceptGRPC(ctx, ingest.FormatOTLPMetricsProto, &ingest.Batch{Samples: m.Samples, Rejected: m.Rejected,
		Bytes: int64((&pmetric.ProtoMarshaler{}).MetricsSize(req.Metrics()))})
	if err != nil {
		return resp, err
	}
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedDataPoints(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.ErrorSummary())
	}
	return resp, nil
}

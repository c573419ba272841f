package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/ingest/otlp"
)

// Config configures the receivers.
type Config struct {
	// MaxBodyBytes bounds a request body, before and after decompression.
	MaxBodyBytes int64
	// RetryAfter is what clients are told to wait when the queue is full.
	RetryAfter time.Duration
}

// DefaultConfig allows 16 MiB payloads, like common collector defaults.
func DefaultConfig() Config { return Config{MaxBodyBytes: 16 << 20, RetryAfter: time.Second} }

// Receiver serves every ingest protocol over one pipeline.
type Receiver struct {
	cfg      Config
	pipeline *ingest.Pipeline
	logger   *slog.Logger
	now      func() time.Time
}

// New builds a receiver.
func New(cfg Config, p *ingest.Pipeline, logger *slog.Logger) *Receiver {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultConfig().MaxBodyBytes
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	return &Receiver{cfg: cfg, pipeline: p, logger: logger, now: time.Now}
}

// RegisterOTLP mounts the OTLP/HTTP paths; they live on :4318 and :8080.
func (rc *Receiver) RegisterOTLP(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/traces", rc.otlp(ingest.FormatOTLPTracesProto, ingest.FormatOTLPTracesJSON, "traces"))
	mux.HandleFunc("POST /v1/logs", rc.otlp(ingest.FormatOTLPLogsProto, ingest.FormatOTLPLogsJSON, "logs"))
	mux.HandleFunc("POST /v1/metrics", rc.otlp(ingest.FormatOTLPMetricsProto, ingest.FormatOTLPMetricsJSON, "metrics"))
}

// Register mounts every HTTP ingest path of the main listener.
func (rc *Receiver) Register(mux *http.ServeMux) {
	rc.RegisterOTLP(mux)
	mux.HandleFunc("POST /api/v1/write", rc.remoteWrite)
	mux.HandleFunc("POST /v1/events", rc.events)
	mux.HandleFunc("POST /v1/ingest", rc.autodetect)
}

func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type")))
	}
	return mt
}

// payloadError is a request that failed, with what to answer.
type payloadError struct {
	status     int
	msg        string
	retryAfter time.Duration
}

// decoded is a request body that decoded, wholly or in part. A decoder
// that failed part-way leaves what it read before the error in batch and
// the error in partial; the payload is then dead-lettered whole. A
// line-delimited body is read on past a bad line instead, and each bad
// line is dead-lettered on its own.
type decoded struct {
	batch   *ingest.Batch
	format  ingest.Format
	partial string
	// badLines name the lines of a line-delimited body that did not
	// decode; the lines around them were decoded.
	badLines []ingest.BadLine
}

// decodeRequest reads the body and decodes it; on failure the payload is
// dead-lettered and a payloadError says what to answer. With sniff, a body
// without Content-Encoding is still decompressed if its magic bytes say so.
func (rc *Receiver) decodeRequest(r *http.Request, tenant, source string, format func([]byte) ingest.Format, sniff bool) (*decoded, *payloadError) {
	body, err := readBody(r, rc.cfg.MaxBodyBytes)
	if err == nil && sniff && r.Header.Get("Content-Encoding") == "" {
		body, err = sniffCompression(body, rc.cfg.MaxBodyBytes)
	}
	if err != nil {
		return nil, &payloadError{status: statusOf(err), msg: err.Error()}
	}
	f := format(body)
	if f == ingest.FormatUnknown {
		rc.pipeline.RejectPayload(r.Context(), tenant, source, f, body, "unrecognised payload")
		return nil, &payloadError{status: http.StatusBadRequest, msg: "unrecognised payload: not OTLP, Prometheus remote write, Zipkin, Jaeger or JSON events"}
	}
	batch, err := ingest.DecodeWith(f, body, rc.now(), rc.pipeline.DecodeOptions())
	if batch != nil {
		batch.Bytes = int64(len(body))
	}
	if err != nil {
		if errors.Is(err, otlp.ErrTooManyRecords) {
			rc.pipeline.RejectPayload(r.Context(), tenant, source, f, body, err.Error())
			return nil, &payloadError{status: http.StatusRequestEntityTooLarge, msg: err.Error()}
		}
		if (f == ingest.FormatOTLPJSONLines || f == ingest.FormatJSONEvents) && ingest.LineDelimited(body) {
			// One bad line costs only itself: the lines after it are
			// read too, and each bad line is a dead letter of its own
			// (replayable once fixed) with its reason.
			good, bad := ingest.DecodeLines(f, body, rc.now(), 1, rc.pipeline.DecodeOptions())
			if good.Len() > 0 || len(good.Rejected) > 0 {
				for _, b := range bad {
					rc.pipeline.RejectPayload(r.Context(), tenant, source, f, b.Raw, b.Reason())
				}
				good.Bytes = int64(len(body))
				return &decoded{batch: good, format: f, badLines: bad}, nil
			}
		}
		rc.pipeline.RejectPayload(r.Context(), tenant, source, f, body, err.Error())
		if batch == nil || len(batch.Events)+len(batch.Samples) == 0 {
			return nil, &payloadError{status: http.StatusBadRequest, msg: err.Error()}
		}
		// Keep what decoded before the error; the answer says what was lost.
		return &decoded{batch: batch, format: f, partial: err.Error()}, nil
	}
	return &decoded{batch: batch, format: f}, nil
}

// acceptDecoded offers a decoded request to the pipeline. A decoder error
// after some records counts as one more refused record in the result.
// Lines that did not decode are reasons first: the list of reasons is cut
// at a few, and what the decoder could not read is what a sender most
// needs to hear.
func (rc *Receiver) acceptDecoded(ctx context.Context, in ingest.Input, d *decoded) (*ingest.Result, *payloadError) {
	accepted, err := rc.pipeline.Accept(ctx, in)
	if err != nil {
		return nil, rc.backpressure(err)
	}
	res := &ingest.Result{}
	for _, b := range d.badLines {
		res.RefuseUnread(b.Reason() + " (kept as a dead letter)")
	}
	if d.partial != "" {
		res.RefuseUnread(fmt.Sprintf("%s (the payload was kept as a dead letter; %d record(s) before the error were accepted)", d.partial, accepted.Accepted))
	}
	res.Merge(accepted)
	return res, nil
}

// statusFor is the answer to a decoded request: 400 only when something
// was refused and nothing was stored (a retry cannot help, and a client
// that drops a 400'd batch loses nothing valid). A partial refusal is a
// success: the refused records are in the dead-letter list, the result and
// inquest_ingest_records_total, and a client such as Prometheus, which
// drops a whole batch on a 400, keeps its valid samples stored.
func statusFor(res *ingest.Result, ok int) int {
	if res.Rejected > 0 && res.Accepted == 0 && res.Duplicates == 0 {
		return http.StatusBadRequest
	}
	return ok
}

func (rc *Receiver) backpressure(err error) *payloadError {
	var qe *ingest.QuotaError
	switch {
	case errors.As(err, &qe):
		return &payloadError{status: http.StatusTooManyRequests, msg: err.Error(), retryAfter: qe.RetryAfter}
	case errors.Is(err, ingest.ErrFull) || errors.Is(err, ingest.ErrClosed):
		return &payloadError{status: http.StatusServiceUnavailable, msg: err.Error(), retryAfter: rc.cfg.RetryAfter}
	}
	return &payloadError{status: http.StatusInternalServerError, msg: "ingest failed"}
}

// setRetryAfter tells a pushed-back client when to come back, in whole
// seconds, at least one.
func setRetryAfter(w http.ResponseWriter, pe *payloadError) {
	if pe.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(pe.retryAfter.Seconds()))))
	}
}

func (rc *Receiver) writeError(w http.ResponseWriter, pe *payloadError) {
	setRetryAfter(w, pe)
	http.Error(w, pe.msg, pe.status)
}

func tenantOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	t, ok := auth.TenantFrom(r.Context())
	if !ok {
		http.Error(w, "no tenant for this request", http.StatusUnauthorized)
	}
	return t, ok
}

// otlp serves one OTLP/HTTP signal. Answers follow the OTLP spec, as the
// gRPC receiver does: 200 with partial_success naming rejected records
// for any payload that decoded, even in part; 400 with a google.rpc.Status
// for undecodable payloads, 503 with Retry-After when the queue is full and 429
// with Retry-After when the tenant is over its rate or quota.
func (rc *Receiver) otlp(protoFormat, jsonFormat ingest.Format, signal string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, ok := tenantOf(w, r)
		if !ok {
			return
		}
		var f ingest.Format
		var isJSON bool
		switch mediaType(r) {
		case "application/x-protobuf", "application/protobuf":
			f = protoFormat
		case "application/json":
			f, isJSON = jsonFormat, true
		default:
			writeOTLPError(w, false, http.StatusUnsupportedMediaType,
				fmt.Sprintf("unsupported Content-Type %q: OTLP/HTTP takes application/x-protobuf or application/json", r.Header.Get("Content-Type")))
			return
		}
		d, pe := rc.decodeRequest(r, tenant, "otlp-http", func([]byte) ingest.Format { return f }, false)
		if pe == nil {
			var res *ingest.Result
			res, pe = rc.acceptDecoded(r.Context(), ingest.Input{Tenant: tenant, Source: "otlp-http", Format: f, Batch: d.batch}, d)
			if pe == nil {
				writeOTLPResponse(w, isJSON, signal, res)
				return
			}
		}
		setRetryAfter(w, pe)
		writeOTLPError(w, isJSON, pe.status, pe.msg)
	}
}

// The Export*ServiceResponse messages share one layout: field 1 is
// partial_success {int64 rejected_<items> = 1; string error_message = 2}.
func writeOTLPResponse(w http.ResponseWriter, isJSON bool, signal string, res *ingest.Result) {
	if isJSON {
		w.Header().Set("Content-Type", "application/json")
		out := map[string]any{}
		if res.Rejected > 0 {
			key := map[string]string{"traces": "rejectedSpans", "logs": "rejectedLogRecords", "metrics": "rejectedDataPoints"}[signal]
			out["partialSuccess"] = map[string]any{key: fmt.Sprint(res.Rejected), "errorMessage": res.ErrorSummary()}
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	var body []byte
	if res.Rejected > 0 {
		var ps []byte
		ps = protowire.AppendTag(ps, 1, protowire.VarintType)
		ps = protowire.AppendVarint(ps, uint64(res.Rejected))
		ps = protowire.AppendTag(ps, 2, protowire.BytesType)
		ps = protowire.AppendString(ps, res.ErrorSummary())
		body = protowire.AppendTag(body, 1, protowire.BytesType)
		body = protowire.AppendBytes(body, ps)
	}
	_, _ = w.Write(body)
}

// writeOTLPError answers with a google.rpc.Status {int32 code = 1; string
// message = 2}, as the OTLP spec asks of failed requests.
func writeOTLPError(w http.ResponseWriter, isJSON bool, status int, msg string) {
	code := 3 // INVALID_ARGUMENT
	switch status {
	case http.StatusServiceUnavailable:
		code = 14 // UNAVAILABLE
	case http.StatusTooManyRequests:
		code = 8 // RESOURCE_EXHAUSTED
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if isJSON {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg})
		return
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(code))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, msg)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// remoteWrite serves Prometheus remote write 1.0: snappy-compressed
// protobuf. 204 once the valid samples are stored, even when some were
// refused (they are dead-lettered and counted; Prometheus drops a whole
// batch on a 400); 400 only when nothing of the request could be stored;
// 503 with Retry-After when full, which Prometheus retries.
func (rc *Receiver) remoteWrite(w http.ResponseWriter, r *http.Request) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	if mt := mediaType(r); mt != "application/x-protobuf" && mt != "" {
		http.Error(w, fmt.Sprintf("unsupported Content-Type %q: remote write takes application/x-protobuf", mt), http.StatusUnsupportedMediaType)
		return
	}
	if r.Header.Get("Content-Encoding") == "" {
		r.Header.Set("Content-Encoding", "snappy") // remote write is always snappy
	}
	d, pe := rc.decodeRequest(r, tenant, "remote-write", func([]byte) ingest.Format { return ingest.FormatRemoteWrite }, false)
	if pe != nil {
		rc.writeError(w, pe)
		return
	}
	res, pe := rc.acceptDecoded(r.Context(), ingest.Input{Tenant: tenant, Source: "remote-write", Format: d.format, Batch: d.batch}, d)
	if pe != nil {
		rc.writeError(w, pe)
		return
	}
	if code := statusFor(res, http.StatusNoContent); code != http.StatusNoContent {
		http.Error(w, res.ErrorSummary(), code)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeSummary(w http.ResponseWriter, f ingest.Format, res *ingest.Result) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(statusFor(res, http.StatusOK))
	_ = json.NewEncoder(w).Encode(ingest.NewSummary(f, res))
}

func (rc *Receiver) accept(w http.ResponseWriter, ctx context.Context, in ingest.Input, d *decoded) {
	res, pe := rc.acceptDecoded(ctx, in, d)
	if pe != nil {
		rc.writeError(w, pe)
		return
	}
	writeSummary(w, in.Format, res)
}

// events serves JSON and NDJSON events.
func (rc *Receiver) events(w http.ResponseWriter, r *http.Request) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	switch mt := mediaType(r); mt {
	case "application/json", "application/x-ndjson", "application/jsonl", "":
	default:
		http.Error(w, fmt.Sprintf("unsupported Content-Type %q: events take application/json or application/x-ndjson", mt), http.StatusUnsupportedMediaType)
		return
	}
	d, pe := rc.decodeRequest(r, tenant, "events", func([]byte) ingest.Format { return ingest.FormatJSONEvents }, false)
	if pe != nil {
		rc.writeError(w, pe)
		return
	}
	rc.accept(w, r.Context(), ingest.Input{Tenant: tenant, Source: "events", Format: d.format, Batch: d.batch}, d)
}

// ImportHeader marks a request as an import of historical data (old
// timestamps are kept); `inquest import --url` sets it.
const ImportHeader = ingest.ImportHeader

// autodetect serves /v1/ingest: the format comes from Content-Type, the
// first bytes, then the shape.
func (rc *Receiver) autodetect(w http.ResponseWriter, r *http.Request) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	rw := r.Header.Get("X-Prometheus-Remote-Write-Version") != "" || strings.EqualFold(r.Header.Get("Content-Encoding"), "snappy")
	if rw && r.Header.Get("Content-Encoding") == "" {
		r.Header.Set("Content-Encoding", "snappy")
	}
	ct := r.Header.Get("Content-Type")
	d, pe := rc.decodeRequest(r, tenant, "ingest", func(body []byte) ingest.Format { return ingest.Detect(ct, body, rw) }, true)
	if pe != nil {
		rc.writeError(w, pe)
		return
	}
	rc.accept(w, r.Context(), ingest.Input{Tenant: tenant, Source: "ingest", Format: d.format, Batch: d.batch,
		Historical: ingest.Historical(r.Header.Get(ImportHeader) == "true")}, d)
}

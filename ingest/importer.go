package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// ImportChunk is how many records an import offers the pipeline at once, so
// that a large file neither fills the queue in one go nor holds a progress
// bar still.
const ImportChunk = 5000

// ImportFile loads a file of any decodable format (OTLP JSON, Jaeger JSON,
// Zipkin v2 JSON, JSON/NDJSON events) through the pipeline as historical
// data. progress is called with the number of records handled so far and
// the total. A full queue is waited out, not reported.
func ImportFile(ctx context.Context, p *Pipeline, tenant, path string, progress func(done, total int)) (*Result, Format, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, FormatUnknown, err
	}
	f := Detect(contentTypeOf(path), body, false)
	if f == FormatUnknown {
		return nil, f, fmt.Errorf("%s: not OTLP JSON, Jaeger JSON, Zipkin JSON or JSON events", path)
	}
	batch, err := Decode(f, body, time.Now())
	if err != nil {
		return nil, f, fmt.Errorf("%s: %w", path, err)
	}
	total := batch.Len()
	res := &Result{}
	done := 0
	offer := func(b *Batch) error {
		for {
			r, err := p.Accept(ctx, Input{Tenant: tenant, Source: "import", Format: f, Batch: b, Historical: true})
			if errors.Is(err, ErrFull) {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(50 * time.Millisecond):
					continue
				}
			}
			if err != nil {
				return err
			}
			res.Merge(r)
			done += b.Len()
			if progress != nil {
				progress(done, total)
			}
			return nil
		}
	}
	for i := 0; i < len(batch.Events); i += ImportChunk {
		if err := offer(&Batch{Events: batch.Events[i:min(i+ImportChunk, len(batch.Events))]}); err != nil {
			return res, f, err
		}
	}
	for i := 0; i < len(batch.Samples); i += ImportChunk {
		if err := offer(&Batch{Samples: batch.Samples[i:min(i+ImportChunk, len(batch.Samples))]}); err != nil {
			return res, f, err
		}
	}
	if len(batch.Rejected) > 0 {
		if err := offer(&Batch{Rejected: batch.Rejected}); err != nil {
			return res, f, err
		}
	}
	res.Merged += batch.Merged
	return res, f, nil
}

func contentTypeOf(path string) string {
	if strings.HasSuffix(path, ".pb") || strings.HasSuffix(path, ".binpb") {
		return "application/x-protobuf"
	}
	return "application/json"
}

// UploadFile sends a file to a running server's /v1/ingest as an import;
// the server detects the format. token, when set, is sent as a bearer
// credential. It returns the server's JSON answer, a Summary.
func UploadFile(ctx context.Context, client *http.Client, baseURL, tenant, token, path string) (string, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/v1/ingest", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", contentTypeOf(path))
	req.Header.Set(ImportHeader, "true")
	if tenant != "" {
		req.Header.Set("X-Inquest-Tenant", tenant)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for {
		resp, err := client.Do(req)
		if err != nil {
			return "", fmt.Errorf("upload %s: %w", path, err)
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Second):
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			continue
		}
		if resp.StatusCode >= 300 {
			return string(answer), fmt.Errorf("upload %s: %s: %s", path, resp.Status, strings.TrimSpace(string(answer)))
		}
		return string(answer), nil
	}
}

// ImportHeader marks an HTTP request as an import of historical data (old
// timestamps are kept).
const ImportHeader = "X-Inquest-Import"

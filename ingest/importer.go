package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
// data. Line-delimited files (NDJSON events, the Collector's OTLP JSON
// lines) are read a chunk of lines at a time, and Zipkin and Jaeger
// documents an element at a time (importdoc.go), so such files of any size
// import in bounded memory; another single JSON document (OTLP JSON, a JSON
// array of events) is read whole. progress is
// called with the bytes of the file handled so far and its size. A full
// queue is waited out, not reported.
func ImportFile(ctx context.Context, p *Pipeline, tenant, path string, progress func(done, total int)) (*Result, Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, FormatUnknown, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, FormatUnknown, err
	}
	im := &importer{ctx: ctx, p: p, tenant: tenant, res: &Result{}, size: int(st.Size()), progress: progress}
	r := bufio.NewReaderSize(f, 1<<20)
	if format, ok := lineFormat(r); ok {
		im.format = format
		if err := im.lines(r); err != nil {
			return im.res, format, fmt.Errorf("%s: %w", path, err)
		}
		return im.res, format, nil
	}
	if format, ok := docFormat(r); ok {
		im.format = format
		if err := im.document(r); err != nil {
			return im.res, format, fmt.Errorf("%s: %w", path, err)
		}
		return im.res, format, nil
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, FormatUnknown, err
	}
	format := Detect(contentTypeOf(path), body, false)
	if format == FormatUnknown {
		return nil, format, fmt.Errorf("%s: not OTLP JSON, Jaeger JSON, Zipkin JSON or JSON events", path)
	}
	im.format = format
	batch, err := DecodeWith(format, body, time.Now(), p.DecodeOptions())
	if err != nil {
		return nil, format, fmt.Errorf("%s: %w", path, err)
	}
	return im.res, format, im.whole(batch)
}

// lineFormat peeks at a file without consuming it: when its first line is
// a whole JSON object and more follows, it is line-delimited, of OTLP
// requests or of events.
func lineFormat(r *bufio.Reader) (Format, bool) {
	peek, _ := r.Peek(64 << 10)
	if !LineDelimited(peek) {
		return FormatUnknown, false
	}
	first := bytes.TrimSpace(peek[:bytes.IndexByte(peek, '\n')])
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(first, &obj)
	format := FormatJSONEvents
	if obj["resourceSpans"] != nil || obj["resourceLogs"] != nil || obj["resourceMetrics"] != nil {
		format = FormatOTLPJSONLines
	}
	return format, true
}

// importer offers a file's records to the pipeline a chunk at a time.
type importer struct {
	ctx      context.Context
	p        *Pipeline
	tenant   string
	format   Format
	res      *Result
	size     int
	done     int
	progress func(done, total int)
}

// lines decodes and offers line-delimited records, ImportChunk lines (or
// 8 MiB) at a time. A chunk that does not decode whole is decoded again a
// line at a time: a line that is not a valid record is counted as
// malformed, named with its number among the reasons, and skipped; the
// lines around it are imported.
func (im *importer) lines(r *bufio.Reader) error {
	var chunk bytes.Buffer
	n, line0 := 0, 1
	flush := func() error {
		if chunk.Len() == 0 {
			return nil
		}
		read := chunk.Len()
		batch, derr := DecodeWith(im.format, chunk.Bytes(), time.Now(), im.p.DecodeOptions())
		if derr != nil {
			if err := im.lineByLine(chunk.Bytes(), line0, read); err != nil {
				return err
			}
		} else if err := im.offer(batch, read); err != nil {
			return err
		}
		chunk.Reset()
		line0 += n
		n = 0
		return nil
	}
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			chunk.Write(line)
			n++
		}
		if n >= ImportChunk || chunk.Len() >= 8<<20 {
			if ferr := flush(); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil {
			return err
		}
	}
}

// lineByLine decodes and offers a chunk's lines one at a time, counting
// and skipping the ones that do not decode.
func (im *importer) lineByLine(chunk []byte, line0, bytesRead int) error {
	good, bad := DecodeLines(im.format, chunk, time.Now(), line0, im.p.DecodeOptions())
	for _, b := range bad {
		im.res.Malformed++
		im.res.addReason(b.Reason())
	}
	return im.offer(good, bytesRead)
}

// whole offers a decoded document's records, ImportChunk at a time.
func (im *importer) whole(batch *Batch) error {
	total := batch.Len()
	per := func(records int) int { // the file's bytes a share of records stands for
		if total == 0 {
			return im.size
		}
		return im.size * records / total
	}
	for i := 0; i < len(batch.Events); i += ImportChunk {
		part := batch.Events[i:min(i+ImportChunk, len(batch.Events))]
		if err := im.offer(&Batch{Events: part}, per(len(part))); err != nil {
			return err
		}
	}
	for i := 0; i < len(batch.Samples); i += ImportChunk {
		part := batch.Samples[i:min(i+ImportChunk, len(batch.Samples))]
		if err := im.offer(&Batch{Samples: part}, per(len(part))); err != nil {
			return err
		}
	}
	if len(batch.Rejected) > 0 {
		if err := im.offer(&Batch{Rejected: batch.Rejected}, per(len(batch.Rejected))); err != nil {
			return err
		}
	}
	im.res.Merged += batch.Merged
	im.report(im.size)
	return nil
}

// offer hands records to the pipeline, waiting out a full queue.
func (im *importer) offer(b *Batch, bytes int) error {
	for {
		r, err := im.p.Accept(im.ctx, Input{Tenant: im.tenant, Source: SourceImport, Format: im.format, Batch: b, Historical: true})
		if errors.Is(err, ErrFull) {
			select {
			case <-im.ctx.Done():
				return im.ctx.Err()
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		if err != nil {
			return err
		}
		im.res.Merge(r)
		im.report(im.done + bytes)
		return nil
	}
}

func (im *importer) report(done int) {
	im.done = min(done, im.size)
	if im.progress != nil {
		im.progress(im.done, im.size)
	}
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

// Package receiver serves the ingest protocols: OTLP over gRPC and HTTP,
// Prometheus remote write, JSON events and the auto-detecting /v1/ingest.
// It only moves bytes: decoding is in the ingest sub-packages, validation
// and queueing in the ingest pipeline.
package receiver

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

// Errors readBody returns, each mapped to its HTTP status by statusOf.
var (
	errTooLarge            = errors.New("payload too large")
	errUnsupportedEncoding = errors.New("unsupported Content-Encoding")
	errBadCompression      = errors.New("payload does not decompress")
)

// readBody reads and decompresses a request body, refusing more than max
// bytes before or after decompression (a small gzip bomb is still a bomb).
func readBody(r *http.Request, max int64) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(raw)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, max)
	}
	return decompress(strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))), raw, max)
}

// sniffCompression decompresses a body that arrived without a
// Content-Encoding header but starts with the gzip or zstd magic bytes
// (files uploaded as they are on disk).
func sniffCompression(body []byte, max int64) ([]byte, error) {
	switch {
	case len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b:
		return decompress("gzip", body, max)
	case len(body) >= 4 && bytes.Equal(body[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return decompress("zstd", body, max)
	}
	return body, nil
}

// decompress undoes a Content-Encoding, with the same size limit after
// decompression as before.
func decompress(encoding string, raw []byte, max int64) ([]byte, error) {
	var rd io.Reader
	switch encoding {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", errBadCompression, err)
		}
		rd = zr
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%w: deflate: %v", errBadCompression, err)
		}
		rd = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(raw), zstd.WithDecoderMaxMemory(uint64(max)))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", errBadCompression, err)
		}
		defer zr.Close()
		rd = zr
	case "snappy":
		n, err := snappy.DecodedLen(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: snappy: %v", errBadCompression, err)
		}
		if int64(n) > max {
			return nil, fmt.Errorf("%w: decompresses to %d bytes, more than %d", errTooLarge, n, max)
		}
		out, err := snappy.Decode(nil, raw)
		if err != nil {
			return nil, fmt.Errorf("%w: snappy: %v", errBadCompression, err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w %q: use gzip, deflate, zstd or snappy", errUnsupportedEncoding, encoding)
	}
	out, err := io.ReadAll(io.LimitReader(rd, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadCompression, err)
	}
	if int64(len(out)) > max {
		return nil, fmt.Errorf("%w: decompresses to more than %d bytes", errTooLarge, max)
	}
	return out, nil
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errUnsupportedEncoding):
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}

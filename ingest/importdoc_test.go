package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// importBoth imports a document through ImportFile (streamed, with small
// parts) and decodes it whole, and returns both.
func importBoth(t *testing.T, format Format, doc string) (*Result, *Batch) {
	t.Helper()
	defer func(e, b int) { docPartElems, docPartBytes = e, b }(docPartElems, docPartBytes)
	docPartElems, docPartBytes = 100, 64<<10
	path := filepath.Join(t.TempDir(), "doc.json")
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	p, err := NewPipeline(DefaultConfig(), NewLocalBus(1_000_000), &memStore{}, nil, nil)
	require.NoError(t, err)
	var calls int
	res, got, err := ImportFile(context.Background(), p, "t", path, func(int, int) { calls++ })
	require.NoError(t, err)
	assert.Equal(t, format, got)
	assert.Greater(t, calls, 2, "imported in parts")
	whole, err := Decode(format, []byte(doc), time.Now())
	require.NoError(t, err)
	return res, whole
}

// TestImportZipkinInParts: a Zipkin array is read a part at a time, parts
// ending where traces do, so the fragments of a span are merged as in a
// whole-file decode.
func TestImportZipkinInParts(t *testing.T) {
	var spans []string
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	for tr := 0; tr < 400; tr++ {
		// The trace's spans, then a later fragment of each with a late tag:
		// a part of 100 elements cut inside a trace (100 is not a multiple
		// of 6) would leave fragments unmerged.
		for sp := 0; sp < 3; sp++ {
			spans = append(spans, fmt.Sprintf(`{"traceId":"%016x","id":"%016x","kind":"SERVER","name":"op","timestamp":%d,"duration":1000,"localEndpoint":{"serviceName":"checkout"}}`,
				tr+1, tr*10+sp+1, start+int64(tr*1000)))
		}
		for sp := 0; sp < 3; sp++ {
			spans = append(spans, fmt.Sprintf(`{"traceId":"%016x","id":"%016x","localEndpoint":{"serviceName":"checkout"},"tags":{"late":"yes"}}`, tr+1, tr*10+sp+1))
		}
	}
	res, whole := importBoth(t, FormatZipkinJSON, "["+strings.Join(spans, ",\n")+"]")
	assert.Equal(t, len(whole.Events), res.Accepted, "as many spans as a whole-file decode")
	assert.Equal(t, whole.Merged, res.Merged, "and as many halves merged")
	assert.Equal(t, 1200, res.Accepted)
}

// TestImportJaegerInParts: a Jaeger export is read a trace at a time.
func TestImportJaegerInParts(t *testing.T) {
	var traces []string
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	for tr := 0; tr < 300; tr++ {
		var spans []string
		for sp := 0; sp < 4; sp++ {
			spans = append(spans, fmt.Sprintf(`{"traceID":"%016x","spanID":"%016x","operationName":"op","references":[],"startTime":%d,"duration":500,"tags":[],"logs":[],"processID":"p1"}`,
				tr+1, tr*10+sp+1, start+int64(tr*1000)))
		}
		traces = append(traces, fmt.Sprintf(`{"traceID":"%016x","spans":[%s],"processes":{"p1":{"serviceName":"cart","tags":[]}}}`,
			tr+1, strings.Join(spans, ",")))
	}
	doc := `{"data":[` + strings.Join(traces, ",\n") + `],"total":0,"limit":0,"offset":0,"errors":null}`
	res, whole := importBoth(t, FormatJaegerJSON, doc)
	assert.Equal(t, len(whole.Events), res.Accepted)
	assert.Equal(t, 1200, res.Accepted)
}

// Package replay reads a root-cause benchmark packed in the Nezha layout
// (one folder a day: faults.json, trace/HH_MM.csv.gz, log/HH_MM.csv.gz,
// metric/<pod>_metric.csv.gz) and writes one fault's telemetry as OTLP
// JSON lines, so that it enters Inquest through the same decoders and
// pipeline as any OTLP export. Only the layout is known here: no service
// names, no fault types.
package replay

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Fault is one injected fault with its labelled root cause.
type Fault struct {
	Time    time.Time `json:"-"`
	Raw     string    `json:"time"`
	Pod     string    `json:"pod"`
	Service string    `json:"service"`
	Type    string    `json:"type"`
	// Day is the folder the fault was read from.
	Day string `json:"-"`
}

// Days lists the day folders under dir (dir itself when it holds a
// faults.json).
func Days(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, "faults.json")); err == nil {
		return []string{dir}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "faults.json")); e.IsDir() && err == nil {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no faults.json in it or in its folders", dir)
	}
	return out, nil
}

// Faults reads a day's faults.json.
func Faults(day string) ([]Fault, error) {
	b, err := os.ReadFile(filepath.Join(day, "faults.json"))
	if err != nil {
		return nil, err
	}
	var fs []Fault
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, fmt.Errorf("%s/faults.json: %w", day, err)
	}
	for i := range fs {
		t, err := time.Parse(time.RFC3339, fs[i].Raw)
		if err != nil {
			return nil, fmt.Errorf("%s/faults.json: fault %d: %w", day, i, err)
		}
		fs[i].Time, fs[i].Day = t.UTC(), day
	}
	return fs, nil
}

// ServiceOf is a pod's service: its name without the two last parts that
// Kubernetes adds (replica set hash and pod suffix).
func ServiceOf(pod string) string {
	parts := strings.Split(pod, "-")
	if len(parts) <= 2 {
		return pod
	}
	return strings.Join(parts[:len(parts)-2], "-")
}

// Window is what a case replays: metrics from Before before the fault,
// traces and logs from Near before it, everything until After after it.
type Window struct {
	Before, Near, After time.Duration
}

// DefaultWindow replays the metrics of the 35 minutes before, the traces
// and logs of the 2 minutes before (a case's files begin up to a minute and
// a half before its fault), and everything of the 3 minutes after.
var DefaultWindow = Window{Before: 35 * time.Minute, Near: 2 * time.Minute, After: 3 * time.Minute}

// WriteCase writes the fault's traces, logs and metrics within the window
// as OTLP JSON lines files in out, and returns their paths and the rows
// of the layout's files it could not read.
func WriteCase(f Fault, w Window, out string) ([]string, Skipped, error) {
	from, to := f.Time.Add(-w.Before), f.Time.Add(w.After)
	// Traces and logs are the case's own files, the minutes around the
	// fault; earlier files of the day belong to earlier faults and are no
	// baseline. Metrics cover the whole day, so their baseline is real.
	near := f.Time.Add(-w.Near)
	var files []string
	skipped := Skipped{}
	for _, part := range []struct {
		name  string
		write func(Fault, time.Time, time.Time, *lineWriter, Skipped) error
	}{{"traces.jsonl", writeTraces}, {"logs.jsonl", writeLogs}, {"metrics.jsonl", writeMetrics}} {
		from := from
		if part.name == "traces.jsonl" {
			from = near
		}
		path := filepath.Join(out, part.name)
		lw, err := newLineWriter(path)
		if err != nil {
			return nil, nil, err
		}
		err = part.write(f, from, to, lw, skipped)
		if cerr := lw.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", part.name, err)
		}
		if lw.lines > 0 {
			files = append(files, path)
		}
	}
	return files, skipped, nil
}

// minuteFiles lists the day's files of a kind (trace, log) for the
// minutes from..to, a minute either side (a file HH_MM starts before
// HH:MM).
func minuteFiles(day, kind string, from, to time.Time) []string {
	var out []string
	for t := from.Truncate(time.Minute).Add(-time.Minute); !t.After(to.Add(time.Minute)); t = t.Add(time.Minute) {
		p := filepath.Join(day, kind, fmt.Sprintf("%02d_%02d.csv.gz", t.Hour(), t.Minute()))
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Skipped counts, per file, the rows that could not be read (broken
// quoting, a wrong number of fields, a value that does not parse) and were
// passed over: real exports have them, and one bad row must not cost a
// case its other rows.
type Skipped map[string]int

// Total is the number of rows skipped in every file.
func (s Skipped) Total() int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}

// maxSkipped is how many unreadable rows in a row end a file's reading: a
// file that is not CSV at all is an error, not a million skipped rows.
const maxSkipped = 1000

// readCSV calls row with each record of a gzipped CSV file, by header. A
// row the CSV reader refuses, or one whose field count is not the
// header's, is counted in skipped and passed over.
func readCSV(path string, skipped Skipped, row func(get func(string) string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r := csv.NewReader(gz)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	width, inARow := len(header), 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) || (err == nil && len(rec) != width) {
			skipped[path]++
			if inARow++; inARow > maxSkipped {
				return fmt.Errorf("%s: %d unreadable rows in a row, the last: %w", path, inARow-1, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		inARow = 0
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		if err := row(get); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
}

// lineWriter writes one OTLP JSON request per line.
type lineWriter struct {
	f     *os.File
	w     *bufio.Writer
	lines int
}

func newLineWriter(path string) (*lineWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &lineWriter{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (l *lineWriter) line(b []byte) error {
	l.lines++
	if _, err := l.w.Write(b); err != nil {
		return err
	}
	return l.w.WriteByte('\n')
}

func (l *lineWriter) close() error {
	return errors.Join(l.w.Flush(), l.f.Close())
}

// batch is how many records go in one request.
const batch = 2000

func resource(r pcommon.Resource, pod string) {
	r.Attributes().PutStr("service.name", ServiceOf(pod))
	r.Attributes().PutStr("k8s.pod.name", pod)
}

// writeTraces writes the spans that started in [from, to), each standing
// for the 1 in SampleRate traces kept.
func writeTraces(f Fault, from, to time.Time, lw *lineWriter, skipped Skipped) error {
	td := ptrace.NewTraces()
	pb := &podBatch[ptrace.SpanSlice]{lw: lw, byPod: map[string]ptrace.SpanSlice{},
		reset: func() { td = ptrace.NewTraces() },
		open: func(pod string) ptrace.SpanSlice {
			rs := td.ResourceSpans().AppendEmpty()
			resource(rs.Resource(), pod)
			return rs.ScopeSpans().AppendEmpty().Spans()
		},
		write: func() ([]byte, error) { return (&ptrace.JSONMarshaler{}).MarshalTraces(td) }}
	for _, path := range minuteFiles(f.Day, "trace", from, to) {
		err := readCSV(path, skipped, func(get func(string) string) error {
			start, err1 := strconv.ParseInt(get("StartTimeUnixNano"), 10, 64)
			end, err2 := strconv.ParseInt(get("EndTimeUnixNano"), 10, 64)
			if err1 != nil || err2 != nil || start < from.UnixNano() || start >= to.UnixNano() {
				return nil
			}
			var tid pcommon.TraceID
			var sid, pid pcommon.SpanID
			if !decodeHex(get("TraceID"), tid[:]) || !decodeHex(get("SpanID"), sid[:]) {
				return nil
			}
			s := pb.records(get("PodName")).AppendEmpty()
			s.SetTraceID(tid)
			s.SetSpanID(sid)
			if p := get("ParentID"); p != "root" && p != "" && decodeHex(p, pid[:]) {
				s.SetParentSpanID(pid)
			}
			s.SetName(get("OperationName"))
			s.SetStartTimestamp(pcommon.Timestamp(start))
			s.SetEndTimestamp(pcommon.Timestamp(end))
			s.Attributes().PutDouble("sample_rate", SampleRate)
			return pb.added()
		})
		if err != nil {
			return err
		}
	}
	return pb.flush()
}

// podBatch gathers one OTLP request of records, a resource per pod, and
// writes it as a line every `batch` records.
type podBatch[S any] struct {
	lw    *lineWriter
	reset func()                 // starts a new request
	open  func(pod string) S     // adds the pod's resource to the request
	write func() ([]byte, error) // marshals the request
	byPod map[string]S
	n     int
}

// records are the pod's records in the request.
func (p *podBatch[S]) records(pod string) S {
	s, ok := p.byPod[pod]
	if !ok {
		s = p.open(pod)
		p.byPod[pod] = s
	}
	return s
}

// added counts a record and writes the request when it is full.
func (p *podBatch[S]) added() error {
	if p.n++; p.n >= batch {
		return p.flush()
	}
	return nil
}

func (p *podBatch[S]) flush() error {
	if p.n == 0 {
		return nil
	}
	b, err := p.write()
	if err != nil {
		return err
	}
	p.reset()
	p.byPod, p.n = map[string]S{}, 0
	return p.lw.line(b)
}

// SampleRate is the layout's trace sampling: one trace in four is kept.
const SampleRate = 4

// decodeHex fills dst from a hex string, left-padded with zeros.
func decodeHex(s string, dst []byte) bool {
	if len(s) > 2*len(dst) || len(s)%2 == 1 {
		s = "0" + s
	}
	if len(s) > 2*len(dst) {
		return false
	}
	b, err := hex.DecodeString(strings.Repeat("0", 2*len(dst)-len(s)) + s)
	if err != nil {
		return false
	}
	copy(dst, b)
	return true
}

// writeLogs writes the log lines of [from, to). The layout's Log column is
// a container runtime's JSON record ({"log": line, "stream": ...}); the
// line is the body, as the Collector's container parser makes it. The
// layout has no level: the records go without one, and whoever reads them
// infers it from the line. A record whose Log is not such JSON is counted
// in skipped.
func writeLogs(f Fault, from, to time.Time, lw *lineWriter, skipped Skipped) error {
	ld := plog.NewLogs()
	pb := &podBatch[plog.LogRecordSlice]{lw: lw, byPod: map[string]plog.LogRecordSlice{},
		reset: func() { ld = plog.NewLogs() },
		open: func(pod string) plog.LogRecordSlice {
			rl := ld.ResourceLogs().AppendEmpty()
			resource(rl.Resource(), pod)
			return rl.ScopeLogs().AppendEmpty().LogRecords()
		},
		write: func() ([]byte, error) { return (&plog.JSONMarshaler{}).MarshalLogs(ld) }}
	for _, path := range minuteFiles(f.Day, "log", from, to) {
		err := readCSV(path, skipped, func(get func(string) string) error {
			ts, err := strconv.ParseInt(get("TimeUnixNano"), 10, 64)
			if err != nil {
				skipped[path]++
				return nil
			}
			if ts < from.UnixNano() || ts >= to.UnixNano() {
				return nil
			}
			line, stream, ok := containerLine(get("Log"))
			if !ok {
				skipped[path]++
				return nil
			}
			r := pb.records(get("PodName")).AppendEmpty()
			r.SetTimestamp(pcommon.Timestamp(ts))
			r.Body().SetStr(line)
			if stream != "" {
				r.Attributes().PutStr("log.iostream", stream)
			}
			var tid pcommon.TraceID
			var sid pcommon.SpanID
			if t := get("TraceID"); t != "" && decodeHex(t, tid[:]) {
				r.SetTraceID(tid)
			}
			if s := get("SpanID"); s != "" && decodeHex(s, sid[:]) {
				r.SetSpanID(sid)
			}
			return pb.added()
		})
		if err != nil {
			return err
		}
	}
	return pb.flush()
}

// containerLine reads a container runtime's JSON log record: the line
// without its trailing newline, and its stream. A plain line (not JSON)
// is its own body; a record that starts as JSON but does not parse is
// refused.
func containerLine(raw string) (line, stream string, ok bool) {
	t := strings.TrimSpace(raw)
	if !strings.HasPrefix(t, "{") {
		return strings.TrimRight(raw, "\r\n"), "", raw != ""
	}
	var rec struct {
		Log    *string `json:"log"`
		Stream string  `json:"stream"`
	}
	if err := json.Unmarshal([]byte(t), &rec); err != nil || rec.Log == nil {
		return "", "", false
	}
	return strings.TrimRight(*rec.Log, "\r\n"), rec.Stream, true
}

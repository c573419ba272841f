package replay

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLayoutFields(t *testing.T) {
	assert.Equal(t, "checkoutservice", ServiceOf("checkoutservice-578fcf4766-9csqn"))
	assert.Equal(t, "my-api", ServiceOf("my-api-6d5f-x2"))
	assert.Equal(t, "solo", ServiceOf("solo"))

	at, ok := parseTime("2022-08-22 03:51:19.607158889 +0000 UTC m=+0.113112869")
	assert.True(t, ok)
	assert.Equal(t, time.Date(2022, 8, 22, 3, 51, 19, 607158889, time.UTC), at.UTC())
	_, ok = parseTime("1861140279")
	assert.False(t, ok, "the TimeStamp column is not read as a time")

	var id [8]byte
	assert.True(t, decodeHex("80f9dbbc516205b9", id[:]))
	assert.Equal(t, [8]byte{0x80, 0xf9, 0xdb, 0xbc, 0x51, 0x62, 0x05, 0xb9}, id)
	assert.True(t, decodeHex("5b9", id[:]), "short ids are padded")
	assert.Equal(t, [8]byte{0, 0, 0, 0, 0, 0, 0x05, 0xb9}, id)
	assert.False(t, decodeHex("80f9dbbc516205b9ff", id[:]), "too long")
	assert.False(t, decodeHex("zz", id[:]))

	line, stream, ok := containerLine(`{"log":"16:42:22.382 INFO  t.s.Impl#532 [get]\n","stream":"stdout","time":"2023-01-29T08:42:22Z"}`)
	assert.True(t, ok)
	assert.Equal(t, "16:42:22.382 INFO  t.s.Impl#532 [get]", line)
	assert.Equal(t, "stdout", stream)
	line, _, ok = containerLine("plain line\n")
	assert.True(t, ok, "a plain line is its own body")
	assert.Equal(t, "plain line", line)
	_, _, ok = containerLine(`{"log":"cut off`)
	assert.False(t, ok, "broken JSON is refused")
	_, _, ok = containerLine(`{"stream":"stdout"}`)
	assert.False(t, ok, "a record without its line is refused")
}

// TestMessyRowsAreSkipped: a row with broken quoting (two records run
// together), one with too few fields and one whose Log is not JSON are
// counted for their file and passed over; the rows around them are kept.
func TestMessyRowsAreSkipped(t *testing.T) {
	day := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(day, "log"), 0o755))
	at := time.Date(2023, 1, 29, 8, 43, 4, 0, time.UTC)
	row := func(sec int, log string) string {
		ts := at.Add(time.Duration(sec) * time.Second)
		return fmt.Sprintf("%s,%d,1.2.3.4,ts-a-service-5dc8d4f9fd-46997,server,,,%s\n", ts.Format(time.RFC3339Nano), ts.UnixNano(), log)
	}
	csvText := "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n" +
		row(1, `"{""log"":""good one\n"",""stream"":""stdout""}"`) +
		row(2, `"{""log"":""broken ""quote"" here""}"x`) + // extraneous quote
		"2023-01-29T08:43:05Z,1674981785000000000,too,few\n" +
		row(3, `"{""log"":""cut`+"\"") + // not JSON when unquoted
		row(4, `"{""log"":""good two\n"",""stream"":""stderr""}"`)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(csvText))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	path := filepath.Join(day, "log", "08_43.csv.gz")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))

	out := t.TempDir()
	lw, err := newLineWriter(filepath.Join(out, "logs.jsonl"))
	require.NoError(t, err)
	skipped := Skipped{}
	require.NoError(t, writeLogs(Fault{Time: at, Day: day}, at, at.Add(time.Minute), lw, skipped))
	require.NoError(t, lw.close())
	assert.Equal(t, 3, skipped[path], "each unreadable row is counted for its file")
	assert.Equal(t, 3, skipped.Total())
	b, err := os.ReadFile(filepath.Join(out, "logs.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "good one")
	assert.Contains(t, string(b), "good two", "rows after the bad ones are kept")
}

// FuzzDecodeHex: any id string is read or refused, never a panic, and
// what is read has no more digits than the id holds.
func FuzzDecodeHex(f *testing.F) {
	for _, s := range []string{"", "0", "80f9dbbc516205b9", "06d1cdd32bcb92dc5f0313c0bae704b8", "root", "0x12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var id [16]byte
		if decodeHex(s, id[:]) && len(s) > 32 {
			t.Fatalf("read %d digits into 16 bytes", len(s))
		}
	})
}

package replay

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

	assert.Equal(t, "ERROR", level("rpc error: code = Unavailable"))
	assert.Equal(t, "WARN", level("warning: slow query"))
	assert.Equal(t, "INFO", level("request complete"))
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

package zipkin

import (
	"os"
	"testing"
)

func FuzzDecode(f *testing.F) {
	f.Add([]byte(shared))
	if b, err := os.ReadFile("testdata/smartthings-mobile-web-install.json"); err == nil {
		f.Add(b[:4096])
	}
	f.Add([]byte(`[{"traceId":"zz","id":"1"}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := Decode(body)
		if err == nil && res == nil {
			t.Fatal("nil result without an error")
		}
	})
}

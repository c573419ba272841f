package jaeger

import "testing"

func FuzzDecode(f *testing.F) {
	f.Add([]byte(doc))
	f.Add([]byte(`{"data":[{"spans":[{"processID":"p","tags":[{"key":"k","value":{}}]}],"processes":{"p":{"serviceName":"s"}}}]}`))
	f.Add([]byte(`{"data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := Decode(body)
		if err == nil && res == nil {
			t.Fatal("nil result without an error")
		}
	})
}

package domain

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAttrWriterIsPut: writing through an AttrWriter gives the lists Put
// and PutNum give, past the length where it starts to index.
func TestAttrWriterIsPut(t *testing.T) {
	var viaPut, viaWriter Event
	w := viaWriter.AttrWriter(&viaWriter.Attrs)
	for i := 0; i < 100; i++ {
		k := fmt.Sprint("k", i%60) // keys repeat: later values replace earlier ones
		if i%3 == 0 {
			viaPut.PutNum(k, float64(i))
			w.PutNum(k, float64(i))
		} else {
			viaPut.Attrs.Put(k, fmt.Sprint("v", i))
			w.Put(k, fmt.Sprint("v", i))
		}
	}
	assert.Equal(t, viaPut.Attrs, viaWriter.Attrs)
	assert.Equal(t, viaPut.NumAttrs, viaWriter.NumAttrs)
	assert.True(t, w.Numeric())
	assert.False(t, viaWriter.AttrWriter(&viaWriter.Resource).Numeric())
}

func BenchmarkAttrWriter100k(b *testing.B) {
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
	}
	for b.Loop() {
		var e Event
		w := e.AttrWriter(&e.Attrs)
		for _, k := range keys {
			w.Put(k, "v")
		}
	}
}

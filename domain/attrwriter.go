package domain

// indexAfter is the list length past which an AttrWriter keeps an index:
// below it a scan is cheaper than a map.
const indexAfter = 16

// AttrWriter sets the attributes of one list of an event in linear time.
// KeyValues.Put scans the list, which is quadratic for a record with
// thousands of keys (one event with 100k keys took half a minute of CPU);
// decoders that add a record's attributes write through an AttrWriter, and
// nothing else may change the lists while they do.
type AttrWriter struct {
	e     *Event
	attrs *Attrs
	pos   map[string]int // key -> position in attrs, once attrs is long
	num   map[string]int // key -> position in e.NumAttrs, likewise
}

// AttrWriter writes attrs, one of e's lists (Attrs or Resource).
func (e *Event) AttrWriter(attrs *Attrs) *AttrWriter {
	return &AttrWriter{e: e, attrs: attrs}
}

// Put sets key to value, replacing an earlier value of the same key.
func (w *AttrWriter) Put(key, value string) { indexedPut(w.attrs, &w.pos, key, value) }

// Numeric reports whether numbers written here are kept as numbers too
// (only the event's own attributes are; resource attributes are text).
func (w *AttrWriter) Numeric() bool { return w.attrs == &w.e.Attrs }

// PutNum sets a numeric attribute, in both the numeric and the text list,
// as Event.PutNum does. Only for the event's own attributes (Numeric).
func (w *AttrWriter) PutNum(key string, v float64) {
	indexedPut(&w.e.NumAttrs, &w.num, key, v)
	indexedPut(w.attrs, &w.pos, key, FormatNumber(v))
}

func indexedPut[V any](kv *KeyValues[V], pos *map[string]int, key string, v V) {
	if *pos == nil {
		if len(kv.Keys) < indexAfter {
			kv.Put(key, v)
			return
		}
		*pos = make(map[string]int, 2*len(kv.Keys))
		for i, k := range kv.Keys {
			(*pos)[k] = i
		}
	}
	if i, ok := (*pos)[key]; ok {
		kv.Values[i] = v
		return
	}
	(*pos)[key] = len(kv.Keys)
	kv.Keys = append(kv.Keys, key)
	kv.Values = append(kv.Values, v)
}

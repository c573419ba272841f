package ingest

// isolateBudget bounds the extra writes spent finding the records at fault
// in a refused batch: a store that is down refuses every part, and
// bisecting a large batch against it would take thousands of attempts.
const isolateBudget = 128

// isolate finds, by halving, which records make a write fail, so that the
// others are stored and only those are refused. write is tried once per
// part; once the budget of attempts is spent, the parts not yet cleared
// are refused whole with the last error. It returns what was stored and
// what was refused with why.
func isolate[T any](items []T, write func([]T) error, budget *int) (stored, refused []T, cause error) {
	if len(items) == 0 {
		return nil, nil, nil
	}
	if *budget <= 0 {
		return nil, items, cause
	}
	*budget--
	err := write(items)
	if err == nil {
		return items, nil, nil
	}
	if len(items) == 1 || *budget <= 0 {
		return nil, items, err
	}
	half := len(items) / 2
	s1, r1, c1 := isolate(items[:half], write, budget)
	s2, r2, c2 := isolate(items[half:], write, budget)
	cause = err
	if c2 != nil {
		cause = c2
	} else if c1 != nil {
		cause = c1
	}
	// New slices: the parts share items' array, and appending to one
	// would write over the other.
	return concat(s1, s2), concat(r1, r2), cause
}

func concat[T any](a, b []T) []T {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make([]T, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// byTenant splits records by tenant, keeping their order within each, so
// that one tenant's bad record is never looked for among another's.
func byTenant[T any](items []T, tenant func(*T) string) [][]T {
	idx := map[string]int{}
	var out [][]T
	for i := range items {
		t := tenant(&items[i])
		j, ok := idx[t]
		if !ok {
			j = len(out)
			idx[t] = j
			out = append(out, nil)
		}
		out[j] = append(out[j], items[i])
	}
	return out
}

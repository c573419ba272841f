package duckdb

// SetPruneBatch makes prunes delete n rows a transaction until restore.
func SetPruneBatch(n int64) (restore func()) {
	old := pruneBatch
	pruneBatch = n
	return func() { pruneBatch = old }
}

package duckdb

import (
	"os"
	"syscall"
)

// lockHolder is the process that holds a POSIX lock on the database file
// (DuckDB locks it for a writer), or 0. Asking the kernel tells a file in
// use apart from any other failure to open it without reading the error's
// words.
func lockHolder(path string) int {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil || lk.Type == syscall.F_UNLCK {
		return 0
	}
	return int(lk.Pid)
}

package server

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// autoMemoryShare is the share of the memory the process may have that
// --memory-limit is by default: room is left for the kernel's page cache
// (DuckDB reads its file through it) and for what the guard cannot stop
// in the second between its samples.
const autoMemoryShare = 0.75

// resolveMemoryLimit is --memory-limit in bytes: as set when positive, off
// when negative, and by default (0) three quarters of the memory the
// process may have: its cgroup's limit in a container, else the machine's
// memory (as automemlimit sets GOMEMLIMIT from the cgroup). source says
// which, for the log.
func resolveMemoryLimit(set int64) (limit int64, source string) {
	switch {
	case set > 0:
		return set, "set"
	case set < 0:
		return 0, "off"
	}
	total, source := availableMemory("/")
	if total <= 0 {
		return 0, "unknown: no cgroup limit and no /proc/meminfo"
	}
	return int64(float64(total) * autoMemoryShare), source
}

// availableMemory is the least of the process's cgroup memory limit (v2
// or v1, at the process's own cgroup) and the machine's memory, read
// under root (a directory standing in for / in tests).
func availableMemory(root string) (int64, string) {
	total, source := meminfo(root), "machine memory"
	if l := cgroupLimit(root); l > 0 && (total <= 0 || l < total) {
		total, source = l, "cgroup limit"
	}
	return total, source
}

// unlimited is a cgroup v1 limit that means none (the largest page-aligned
// int64) or anything as absurd.
const unlimited = int64(1) << 60

// cgroupLimit reads the memory limit of the process's cgroup: v2's
// memory.max, or v1's memory.limit_in_bytes, at the path /proc/self/cgroup
// names and then at the hierarchy's root (a container sees its own cgroup
// there). 0 when there is none.
func cgroupLimit(root string) int64 {
	v2, v1 := "", ""
	if f, err := os.Open(filepath.Join(root, "proc/self/cgroup")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.SplitN(sc.Text(), ":", 3)
			if len(parts) != 3 {
				continue
			}
			switch {
			case parts[0] == "0" && parts[1] == "":
				v2 = parts[2]
			case strings.Contains(","+parts[1]+",", ",memory,"):
				v1 = parts[2]
			}
		}
		f.Close()
	}
	for _, p := range []string{
		filepath.Join(root, "sys/fs/cgroup", v2, "memory.max"),
		filepath.Join(root, "sys/fs/cgroup/memory.max"),
		filepath.Join(root, "sys/fs/cgroup/memory", v1, "memory.limit_in_bytes"),
		filepath.Join(root, "sys/fs/cgroup/memory/memory.limit_in_bytes"),
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n < unlimited {
			return n
		}
		return 0
	}
	return 0
}

// meminfo is the machine's memory from /proc/meminfo, 0 when unknown.
func meminfo(root string) int64 {
	b, err := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

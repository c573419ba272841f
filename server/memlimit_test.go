package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		full := filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(body), 0o644))
	}
	return root
}

// TestAvailableMemory: a container's cgroup limit (v2 at the process's own
// cgroup, or v1) wins over the machine's memory when smaller; "max" and
// v1's "unlimited" are no limit; with nothing to read, nothing is known.
func TestAvailableMemory(t *testing.T) {
	meminfo := "MemTotal:       24683736 kB\nMemFree:  1 kB\n"
	for _, c := range []struct {
		name   string
		files  map[string]string
		want   int64
		source string
	}{
		{"cgroup v2 at its own path", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/kubepods/pod1/c1\n",
			"sys/fs/cgroup/kubepods/pod1/c1/memory.max": "1073741824\n"}, 1 << 30, "cgroup limit"},
		{"cgroup v2 unlimited", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/\n",
			"sys/fs/cgroup/memory.max": "max\n"}, 24683736 << 10, "machine memory"},
		{"cgroup v1", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "4:memory:/docker/abc\n3:cpu:/\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "536870912\n"}, 512 << 20, "cgroup limit"},
		{"cgroup v1 unlimited", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "4:memory:/x\n",
			"sys/fs/cgroup/memory/x/memory.limit_in_bytes": "9223372036854771712\n"}, 24683736 << 10, "machine memory"},
		{"a limit larger than the machine", map[string]string{"proc/meminfo": meminfo, "sys/fs/cgroup/memory.max": "99999999999999\n"}, 24683736 << 10, "machine memory"},
		{"nothing", map[string]string{}, 0, "machine memory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, source := availableMemory(fakeRoot(t, c.files))
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.source, source)
		})
	}
	limit, source := resolveMemoryLimit(1 << 30)
	assert.Equal(t, int64(1<<30), limit)
	assert.Equal(t, "set", source)
	limit, _ = resolveMemoryLimit(-1)
	assert.Zero(t, limit, "negative turns the guard off")
	limit, source = resolveMemoryLimit(0)
	assert.Positive(t, limit, "on by default on this machine (%s)", source)
}

package duckdb_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/storage/duckdb"
)

// TestOpenLockedByAnotherProcess opens a database that a second process
// (this test binary, run as a helper) holds: ErrLocked, naming the holder.
func TestOpenLockedByAnotherProcess(t *testing.T) {
	if path := os.Getenv("DUCKDB_LOCK_HELPER"); path != "" {
		s, err := duckdb.Open(context.Background(), duckdb.Config{Path: path}, nil)
		if err != nil {
			os.Exit(2)
		}
		os.Stdout.WriteString("open\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // hold it until told
		_ = s.Close()
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "inquest.db")
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self, "-test.run=^TestOpenLockedByAnotherProcess$")
	cmd.Env = append(os.Environ(), "DUCKDB_LOCK_HELPER="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "open\n", line)

	_, err = duckdb.Open(context.Background(), duckdb.Config{Path: path}, nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, duckdb.ErrLocked), err)
	assert.Contains(t, err.Error(), "process")

	// A path that cannot be opened for another reason is not "locked".
	_, err = duckdb.Open(context.Background(), duckdb.Config{Path: t.TempDir()}, nil) // a directory
	require.Error(t, err)
	assert.False(t, errors.Is(err, duckdb.ErrLocked))
}

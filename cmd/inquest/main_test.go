package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/storage/duckdb"
)

// TestImportCommand runs `inquest import` on real Zipkin data into a data
// directory and reads the store back.
func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	cmd := rootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"import", "--data-dir", dir, "--tenant", "acme", "../../ingest/zipkin/testdata/smartthings-mobile-web-install.json"})
	require.NoError(t, cmd.Execute())
	// The file explains itself: 1,041 entries are 953 spans and 88
	// fragments merged into them, from a morning in 2018.
	for _, want := range []string{"format      zipkin-json", "read        1041 record(s)", "stored      953", "merged      88",
		"rejected    0", `range: {from: "2018-11-30T03:45:24Z", to: "2018-11-30T03:50:27Z"}`} {
		assert.Contains(t, out.String(), want)
	}

	store, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(dir, "inquest.duckdb")}, nil)
	require.NoError(t, err)
	defer store.Close()
	var n, services int
	require.NoError(t, store.DB().QueryRow("SELECT count(*), count(DISTINCT service) FROM events WHERE tenant_id = 'acme'").Scan(&n, &services))
	assert.Equal(t, 953, n)
	assert.Equal(t, 16, services)
}

// TestTokenCommand mints a token that the server's verifier accepts.
func TestTokenCommand(t *testing.T) {
	secret := "a-secret-of-at-least-thirty-two-bytes"
	t.Setenv("INQUEST_AUTH_JWT_SECRET", secret)
	cmd := rootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"token", "--subject", "ann", "--tenant", "acme", "--roles", "admin", "--ttl", "1h"})
	require.NoError(t, cmd.Execute())
	a, err := auth.NewAuthenticator(auth.JWTConfig{Secret: []byte(secret)})
	require.NoError(t, err)
	p, err := a.Verify(context.Background(), strings.TrimSpace(out.String()))
	require.NoError(t, err)
	assert.Equal(t, "acme", p.Tenant)
	assert.Equal(t, []string{"admin"}, p.Roles)

	t.Setenv("INQUEST_AUTH_JWT_SECRET", "")
	cmd = rootCmd()
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"token", "--subject", "ann"})
	assert.ErrorContains(t, cmd.Execute(), "no JWT secret")
}

// TestImportHelp lists what applies to an import, not the server's
// listeners, demo or detection.
func TestImportHelp(t *testing.T) {
	cmd := rootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"import", "--help"})
	require.NoError(t, cmd.Execute())
	for _, want := range []string{"--url", "--tenant", "--token", "--data-dir", "--clickhouse-dsn"} {
		assert.Contains(t, out.String(), want)
	}
	for _, not := range []string{"--demo", "--http-addr", "--detection", "--auth-jwt-secret", "--kafka-brokers"} {
		assert.NotContains(t, out.String(), not)
	}
}

// TestImportThroughServerCommand runs `inquest import --url` against a
// running server: the same summary, from the server's answer.
func TestImportThroughServerCommand(t *testing.T) {
	s := startServer(t)
	cmd := rootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"import", "--url", "http://" + s.Addrs().HTTP, "../../ingest/zipkin/testdata/smartthings-mobile-web-install.json"})
	require.NoError(t, cmd.Execute())
	for _, want := range []string{"format      zipkin-json", "read        1041 record(s)", "accepted    953", "merged      88",
		`range: {from: "2018-11-30T03:45:24Z", to: "2018-11-30T03:50:27Z"}`} {
		assert.Contains(t, out.String(), want)
	}
	assert.NotContains(t, out.String(), `"accepted"`, "a summary, not raw JSON")
}

func TestImportCommandErrors(t *testing.T) {
	for _, args := range [][]string{
		{"import", "--data-dir", t.TempDir(), "no-such-file.json"},
		{"import", "--tenant", "bad tenant!", "x.json"},
		{"serve", "--log-level", "loud"},
	} {
		cmd := rootCmd()
		cmd.SetArgs(args)
		cmd.SetErr(&bytes.Buffer{})
		assert.Error(t, cmd.Execute(), args)
	}
}

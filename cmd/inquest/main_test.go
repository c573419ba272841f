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

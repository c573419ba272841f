package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130114400-32b9f21c0a1e+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "32b9f21c0a1e4d2b9c8e7f6a5b4c3d2e1f0a9b8c"},
			{Key: "vcs.time", Value: "2026-11-30T11:44:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	assert.Equal(t, "inquest v0.0.0-20261130114400-32b9f21c0a1e+dirty, revision 32b9f21c0a1e of 2026-11-30T11:44:00Z, with uncommitted changes, go1.26.8",
		versionLine("dev", bi))
	assert.Equal(t, "inquest 1.2.0, revision unknown (built with go run or outside a checkout), go1.26.8",
		versionLine("1.2.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}))

	// The command itself: this test binary has build information.
	cmd := rootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"version"})
	require.NoError(t, cmd.Execute())
	assert.Contains(t, out.String(), runtime.Version())
}

// TestHelpInSync holds every command's help to what exists: the root help
// names each command, the dashboard pages it lists are those in the
// dashboard's navigation, and every --flag a help text names is a flag of
// that command.
func TestHelpInSync(t *testing.T) {
	root := rootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--help"})
	require.NoError(t, root.Execute())
	help := out.String()
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		assert.Contains(t, help, "`inquest "+c.Name(), "the root help names %s", c.Name())
	}
	assert.Contains(t, help, "`inquest serve --demo`")

	nav, err := os.ReadFile("../../web/static/index.html")
	require.NoError(t, err)
	var pages []string
	for _, m := range regexp.MustCompile(`data-page="[^"]+">([^<]+)<`).FindAllStringSubmatch(string(nav), -1) {
		pages = append(pages, strings.ToLower(m[1]))
	}
	require.NotEmpty(t, pages)
	assert.ElementsMatch(t, pages, dashboardPages, "the help lists the dashboard's pages as its navigation does")

	flagRE := regexp.MustCompile(`--([a-z][a-z0-9-]+)`)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "completion" {
			return // cobra's own
		}
		for _, m := range flagRE.FindAllStringSubmatch(c.Short+" "+c.Long, -1) {
			if c == root {
				break // the root help names serve's flags
			}
			assert.NotNil(t, c.Flags().Lookup(m[1]), "%s's help names --%s, which it does not have", c.CommandPath(), m[1])
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			for _, m := range flagRE.FindAllStringSubmatch(f.Usage, -1) {
				assert.NotNil(t, c.Flags().Lookup(m[1]), "%s --%s's help names --%s, which does not exist", c.CommandPath(), f.Name, m[1])
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

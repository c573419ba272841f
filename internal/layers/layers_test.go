package layers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/inquest/inquest"

func table(t *testing.T) []Layer {
	doc, err := os.ReadFile("../../ARCHITECTURE.md")
	require.NoError(t, err)
	layers, err := ParseTable(string(doc))
	require.NoError(t, err)
	return layers
}

// TestHouseKeepsItsLayers is the rule itself: every package of the module is
// in a layer of ARCHITECTURE.md's table and imports only what its row allows.
func TestHouseKeepsItsLayers(t *testing.T) {
	graph, err := Imports("../..", module)
	require.NoError(t, err)
	require.Greater(t, len(graph), 40, "the walk found the module's packages")
	for _, must := range []string{"domain", "service", "resolvers", "storage/duckdb", "agents/rca"} {
		require.Contains(t, graph, must)
	}
	assert.Empty(t, Check(table(t), graph))
}

// TestFacesReachOnlyTheService: no face or assistant imports storage, an
// engine or the intake, which is what the table says; checked here by name
// so that a loosened table fails too.
func TestFacesReachOnlyTheService(t *testing.T) {
	graph, err := Imports("../..", module)
	require.NoError(t, err)
	layers := table(t)
	for pkg, imports := range graph {
		l, ok := Of(layers, pkg)
		if !ok || (l.Name != "faces" && l.Name != "assistants") {
			continue
		}
		for _, im := range imports {
			assert.False(t, strings.HasPrefix(im, "storage") || strings.HasPrefix(im, "agents/") || strings.HasPrefix(im, "ingest"),
				"%s imports %s", pkg, im)
		}
	}
}

// TestUpwardImportFails builds a small module on disk with the house's
// table and one arrow that points up, and expects exactly that arrow back.
func TestUpwardImportFails(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, src string) {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
	}
	write("go.mod", "module "+module+"\n")
	write("domain/d.go", "package domain\n")
	write("service/s.go", "package service\nimport _ \""+module+"/domain\"\n")
	write("resolvers/r.go", "package resolvers\nimport _ \""+module+"/service\"\n")
	write("bench/go.mod", "module bench\n") // a nested module is not the house
	write("bench/b.go", "package bench\nimport _ \""+module+"/resolvers\"\n")
	write("domain/d_test.go", "package domain\nimport _ \""+module+"/service\"\n") // tests may reach anywhere
	graph, err := Imports(dir, module)
	require.NoError(t, err)
	layers := table(t)
	assert.Empty(t, Check(layers, graph), "the clean module passes")

	write("domain/up.go", "package domain\nimport _ \""+module+"/service\"\n")
	write("resolvers/skip.go", "package resolvers\nimport _ \""+module+"/storage/duckdb\"\n")
	write("newthing/n.go", "package newthing\n")
	graph, err = Imports(dir, module)
	require.NoError(t, err)
	bad := Check(layers, graph)
	require.Len(t, bad, 3, "%q", bad)
	assert.Contains(t, bad[0], "domain imports service: domain may not import service")
	assert.Contains(t, bad[1], "newthing is in no layer")
	assert.Contains(t, bad[2], "resolvers imports storage/duckdb: faces may not import stores")
}

func TestParseTable(t *testing.T) {
	layers, err := ParseTable("x\n\n| layer | packages | may import |\n|---|---|---|\n| `top` | `a`, `b/...` | low |\n| low | `c` | |\n\nafter\n")
	require.NoError(t, err)
	require.Len(t, layers, 2)
	assert.Equal(t, []string{"a", "b/..."}, layers[0].Packages)
	l, ok := Of(layers, "b/x/y")
	require.True(t, ok)
	assert.Equal(t, "top", l.Name)
	_, ok = Of(layers, "bx")
	assert.False(t, ok, "b/... covers b's tree, not every name starting with b")

	_, err = ParseTable("| layer | packages | may import |\n|---|---|---|\n| top | a | nowhere |\n")
	assert.ErrorContains(t, err, `"nowhere", which is no layer`)
	_, err = ParseTable("no table")
	assert.Error(t, err)
}

// TestEveryPackageChecksForLeaks: a package with tests runs them under
// internal/leaktest's TestMain, so that a goroutine a test leaves running
// fails it (ARCHITECTURE.md, "A goroutine").
func TestEveryPackageChecksForLeaks(t *testing.T) {
	withTests := map[string]bool{}
	withMain := map[string]bool{}
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "../.." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" ||
				exists(filepath.Join(path, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		withTests[dir] = true
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "leaktest.Main(m)") {
			withMain[dir] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, len(withTests), 30)
	for dir := range withTests {
		if strings.HasSuffix(filepath.ToSlash(dir), "internal/leaktest") {
			continue
		}
		assert.True(t, withMain[dir], "%s has tests but no TestMain calling leaktest.Main", dir)
	}
}

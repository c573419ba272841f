// Package layers checks the house against the layer table in
// ARCHITECTURE.md: each package belongs to one layer, and a layer imports
// only the layers its row lists. The table is read from the document so the
// map a newcomer reads and the rule the build enforces are the same text.
package layers

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Anything is the "may import" entry of the composition root.
const Anything = "anything"

// Layer is one row of the table.
type Layer struct {
	Name string
	// Packages are paths relative to the module; "x/..." is x and every
	// package below it.
	Packages []string
	// MayImport names the layers this one may import (its own is implied),
	// or holds Anything.
	MayImport []string
}

// ParseTable reads the first markdown table whose header starts
// "| layer | packages | may import |". Cells list names split by spaces or
// commas, each in backquotes or bare.
func ParseTable(doc string) ([]Layer, error) {
	var layers []Layer
	in := false
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			if in {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if !in {
			if len(cells) >= 3 && strings.EqualFold(cells[0], "layer") && strings.EqualFold(cells[1], "packages") && strings.EqualFold(cells[2], "may import") {
				in = true
			}
			continue
		}
		if strings.Trim(cells[0], "-: ") == "" {
			continue // the separator row
		}
		if len(cells) < 3 {
			return nil, fmt.Errorf("layer row %q: want three cells", line)
		}
		layers = append(layers, Layer{Name: strings.Trim(cells[0], "`* "), Packages: words(cells[1]), MayImport: words(cells[2])})
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("no table with the header | layer | packages | may import |")
	}
	names := map[string]bool{}
	for _, l := range layers {
		names[l.Name] = true
	}
	for _, l := range layers {
		for _, m := range l.MayImport {
			if m != Anything && !names[m] {
				return nil, fmt.Errorf("layer %s may import %q, which is no layer", l.Name, m)
			}
		}
	}
	return layers, nil
}

func words(cell string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(cell, func(r rune) bool { return r == ' ' || r == ',' }) {
		if w = strings.Trim(w, "`/"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// Imports maps each package of the module rooted at dir to the module's
// packages its non-test files import. Test files may reach anywhere (a
// face's test builds a store); nested modules (with their own go.mod) and
// testdata are not part of the house.
func Imports(dir, module string) (map[string][]string, error) {
	graph := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != dir && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || exists(filepath.Join(path, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if _, ok := graph[pkg]; !ok {
			graph[pkg] = nil
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if p == module {
				graph[pkg] = append(graph[pkg], ".")
			} else if strings.HasPrefix(p, module+"/") {
				graph[pkg] = append(graph[pkg], strings.TrimPrefix(p, module+"/"))
			}
		}
		return nil
	})
	return graph, err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Of is the layer a package belongs to: the row with the longest pattern
// that covers it.
func Of(layers []Layer, pkg string) (*Layer, bool) {
	var best *Layer
	bestLen := -1
	for i := range layers {
		for _, p := range layers[i].Packages {
			base, tree := strings.CutSuffix(p, "/...")
			if (pkg == base || (tree && strings.HasPrefix(pkg, base+"/"))) && len(base) > bestLen {
				best, bestLen = &layers[i], len(base)
			}
		}
	}
	return best, best != nil
}

// Check lists every package in no layer and every import its layer does
// not allow, sorted, in words a reader can act on.
func Check(layers []Layer, graph map[string][]string) []string {
	var bad []string
	for pkg, imports := range graph {
		from, ok := Of(layers, pkg)
		if !ok {
			bad = append(bad, fmt.Sprintf("%s is in no layer: add it to the table in ARCHITECTURE.md", pkg))
			continue
		}
		for _, im := range imports {
			to, ok := Of(layers, im)
			if !ok || allowed(from, to) {
				continue // a package in no layer is reported once, above
			}
			bad = append(bad, fmt.Sprintf("%s imports %s: %s may not import %s (it may import %s)",
				pkg, im, from.Name, to.Name, strings.Join(append([]string{from.Name}, from.MayImport...), ", ")))
		}
	}
	sort.Strings(bad)
	return bad
}

func allowed(from, to *Layer) bool {
	if from.Name == to.Name {
		return true
	}
	for _, m := range from.MayImport {
		if m == Anything || m == to.Name {
			return true
		}
	}
	return false
}

package resolvers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResolversAreAdapters reads the resolvers' source: each resolver
// method makes at most one call into the service (besides its clock) and
// stays short, so that no domain logic grows here instead of in service/.
func TestResolversAreAdapters(t *testing.T) {
	files, err := filepath.Glob("*.resolvers.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var decls []ast.Decl
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		decls = append(decls, f.Decls...)
	}
	methods := 0
	for _, d := range decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || fn.Body == nil {
			continue
		}
		methods++
		calls := 0
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "Service" && sel.Sel.Name != "Now" {
				calls++
			}
			return true
		})
		assert.LessOrEqual(t, calls, 1, "%s calls the service %d times", fn.Name.Name, calls)
		assert.LessOrEqual(t, len(fn.Body.List), 12, "%s has %d statements: move logic into service/", fn.Name.Name, len(fn.Body.List))
	}
	assert.Greater(t, methods, 25)
}

package resolvers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResolversAreAdapters reads the resolvers' source: each resolver
// method makes at most one call into the service (besides its clock) and
// stays short, so that no domain logic grows here instead of in service/.
func TestResolversAreAdapters(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "schema.resolvers.go", nil, 0)
	require.NoError(t, err)
	methods := 0
	for _, d := range f.Decls {
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

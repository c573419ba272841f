package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// depthLimit refuses operations nested deeper than max selection levels,
// a guardrail the complexity limit alone does not give (a narrow but deep
// query is cheap by complexity and still costly to resolve).
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || d.max <= 0 {
		return nil
	}
	if got := depth(oc.Doc, oc.Operation.SelectionSet, 0); got > d.max {
		return gqlerror.Errorf("operation is nested %d levels deep, more than the limit of %d", got, d.max)
	}
	return nil
}

// depth is the deepest field nesting of a selection set; fragments count
// where they are spread. Validation has already refused fragment cycles,
// and seen guards against them anyway.
func depth(doc *ast.QueryDocument, set ast.SelectionSet, seen int) int {
	if seen > 100 {
		return seen
	}
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			d = 1 + depth(doc, s.SelectionSet, seen+1)
		case *ast.InlineFragment:
			d = depth(doc, s.SelectionSet, seen+1)
		case *ast.FragmentSpread:
			if f := doc.Fragments.ForName(s.Name); f != nil {
				d = depth(doc, f.SelectionSet, seen+1)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

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
// where they are spread, introspection's subtrees do not. Validation has
// already refused fragment cycles, and seen guards against them anyway.
func depth(doc *ast.QueryDocument, set ast.SelectionSet, seen int) int {
	if seen > 100 {
		return seen
	}
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			d = 1
			// Introspection is bounded by its own rule (gqlparser's
			// MaxIntrospectionDepth, as graphql-js: type lists nest at most
			// twice), not this one: graphql-js's standard introspection
			// query is 13 to 15 levels deep, its type references unwrapping
			// ofType seven to nine times, and GraphiQL, Altair and code
			// generators send it unchanged.
			if s.Name != "__schema" && s.Name != "__type" {
				d += depth(doc, s.SelectionSet, seen+1)
			}
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

// fragmentLimit refuses an operation whose fragments, spread where they
// are used, would make more fields than max: chained fragments that each
// spread the next twice double at every link, and walking them (as the
// complexity and depth checks do) took 49 s for a 1 KB query of 28. Each
// fragment's size is computed once, so this check is linear in the
// document; it runs before the others.
type fragmentLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = fragmentLimit{}

func (fragmentLimit) ExtensionName() string                   { return "FragmentLimit" }
func (fragmentLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (l fragmentLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || l.max <= 0 {
		return nil
	}
	sizes := map[string]int{}
	if got := expanded(oc.Doc, oc.Operation.SelectionSet, sizes, l.max); got > l.max {
		return gqlerror.Errorf("operation expands to more than %d fields once its fragments are spread: spread fewer fragments", l.max)
	}
	return nil
}

// expanded counts the fields of a selection set with every fragment
// spread, each fragment's count computed once (sizes) and every count
// capped just past limit, so that no sum overflows.
func expanded(doc *ast.QueryDocument, set ast.SelectionSet, sizes map[string]int, limit int) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n += 1 + expanded(doc, s.SelectionSet, sizes, limit)
		case *ast.InlineFragment:
			n += expanded(doc, s.SelectionSet, sizes, limit)
		case *ast.FragmentSpread:
			size, ok := sizes[s.Name]
			if !ok {
				sizes[s.Name] = limit + 1 // a cycle (refused by validation) counts as too many
				if f := doc.Fragments.ForName(s.Name); f != nil {
					size = expanded(doc, f.SelectionSet, sizes, limit)
				}
				sizes[s.Name] = size
			}
			n += size
		}
		if n > limit {
			return limit + 1
		}
	}
	return n
}

// maxExpandedFields bounds the fields of an operation with its fragments
// spread: far above what a dashboard or a tool asks (hundreds), far below
// what makes resolving it costly.
const maxExpandedFields = 10_000

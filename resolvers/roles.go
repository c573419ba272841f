package resolvers

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/graph/model"
)

// ForbiddenError is a request by a principal without the role a field
// needs; shown to the client as FORBIDDEN.
type ForbiddenError struct{ msg string }

func (e *ForbiddenError) Error() string { return e.msg }

// HasRole implements the @hasRole directive, the one place where GraphQL
// fields check roles. Without authentication configured (devMode, loopback
// only) there is no principal and every field is allowed. denied, if set,
// is told of each refusal (for the audit log).
func HasRole(devMode bool, denied func(ctx context.Context, field string, role auth.Role)) func(ctx context.Context, obj any, next graphql.Resolver, role model.Role) (any, error) {
	return func(ctx context.Context, _ any, next graphql.Resolver, role model.Role) (any, error) {
		p, ok := auth.PrincipalFrom(ctx)
		if !ok {
			if devMode {
				return next(ctx)
			}
			return nil, &ForbiddenError{msg: "authentication required"}
		}
		want := auth.Role(strings.ToLower(string(role)))
		if !p.Has(want) {
			field := "this field"
			if fc := graphql.GetFieldContext(ctx); fc != nil {
				field = fc.Field.Name
			}
			if denied != nil {
				denied(ctx, field, want)
			}
			return nil, &ForbiddenError{msg: fmt.Sprintf("forbidden: %s needs the %s role", field, want)}
		}
		return next(ctx)
	}
}

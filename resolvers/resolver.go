// Package resolvers is the GraphQL face: each resolver converts GraphQL
// input into the service's typed input, makes one service call and shapes
// the answer. Roles, tenants, ranges, pages, audit entries and errors are
// the service's (package service); nothing here decides them.
package resolvers

import (
	"context"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/service"
)

// Resolver serves the schema over the service.
type Resolver struct {
	Service *service.Service
	// Authenticated is false in development mode, where requests act
	// anonymously with every role.
	Authenticated bool
}

// principal is who the request acts for.
func (r *Resolver) principal(ctx context.Context) (service.Principal, error) {
	return service.PrincipalFrom(ctx, r.Authenticated)
}

// incidentChange runs one incident mutation of the service.
func (r *Resolver) incidentChange(ctx context.Context, id string,
	change func(ctx context.Context, p service.Principal, id string) (*domain.Incident, error)) (*model.Incident, error) {
	p, err := r.principal(ctx)
	if err != nil {
		return nil, err
	}
	in, err := change(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return incidentModel(in), nil
}

package resolvers

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vikstrous/dataloadgen"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/graph/model"
	"github.com/inquest/inquest/service"
)

// loaders batch the fields every incident of a list asks for — its
// anomalies, its newest investigation, its proposals — into one service
// call per field for the whole list (dataloadgen, as gqlgen recommends),
// instead of one per incident.
type loaders struct {
	anomalies     *dataloadgen.Loader[service.IncidentRef, []domain.Anomaly]
	investigation *dataloadgen.Loader[service.IncidentRef, *domain.Investigation]
	proposals     *dataloadgen.Loader[service.IncidentRef, []domain.Proposal]
}

type loadersKey struct{}

// batchWait is how long a loader waits for more keys before it reads:
// the fields of one list resolve within a millisecond or two of each
// other, and a level of the query waits this much once.
const batchWait = 5 * time.Millisecond

// BatchReads gives each query and mutation its own loaders (their cache
// lives as long as the operation); a subscription has none, so each event
// it sends is read fresh.
func (r *Resolver) BatchReads(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if oc := graphql.GetOperationContext(ctx); oc != nil && oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	return next(context.WithValue(ctx, loadersKey{}, r.newLoaders()))
}

func (r *Resolver) newLoaders() *loaders {
	return &loaders{
		anomalies:     dataloadgen.NewLoader(batch(r, r.Service.IncidentsAnomalies), dataloadgen.WithWait(batchWait)),
		investigation: dataloadgen.NewLoader(batch(r, r.Service.IncidentsInvestigation), dataloadgen.WithWait(batchWait)),
		proposals:     dataloadgen.NewLoader(batch(r, r.Service.IncidentsProposals), dataloadgen.WithWait(batchWait)),
	}
}

// batch adapts a service batch read to a loader's fetch: one call for the
// keys, each key's value (or the call's error) in order.
func batch[V any](r *Resolver, read func(context.Context, service.Principal, []service.IncidentRef) (map[string]V, error)) func(context.Context, []service.IncidentRef) ([]V, []error) {
	return func(ctx context.Context, refs []service.IncidentRef) ([]V, []error) {
		out, errs := make([]V, len(refs)), make([]error, len(refs))
		p, err := r.principal(ctx)
		var got map[string]V
		if err == nil {
			got, err = read(ctx, p, refs)
		}
		for i, ref := range refs {
			out[i], errs[i] = got[ref.ID], err
		}
		return out, errs
	}
}

// loadersFrom are the operation's loaders; outside an operation that has
// them (a subscription, a test calling a resolver) a fresh set, which
// batches nothing but answers the same.
func (r *Resolver) loadersFrom(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return r.newLoaders()
}

// refOf is the batch key of an incident already read.
func refOf(in *model.Incident) service.IncidentRef {
	ref := service.IncidentRef{ID: in.ID, OpenedNano: in.OpenedAt.UnixNano()}
	if in.ResolvedAt != nil {
		ref.EndNano = in.ResolvedAt.UnixNano()
	}
	return ref
}

package service_test

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/inquest/inquest/graph"
	"github.com/inquest/inquest/service"
)

// TestRoleTableCoversSchema walks every Query, Mutation and Subscription
// field of the GraphQL schema: each must have an entry in the one role
// table, and the table must name no operation that no face offers.
func TestRoleTableCoversSchema(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	var fields []string
	for _, root := range []string{"Query", "Mutation", "Subscription"} {
		def := schema.Types[root]
		if !assert.NotNil(t, def, root) {
			continue
		}
		for _, f := range def.Fields {
			if f.Name == "__schema" || f.Name == "__type" || f.Name == "__typename" {
				continue
			}
			fields = append(fields, f.Name)
			_, ok := service.RoleOf(f.Name)
			assert.True(t, ok, "%s.%s has no entry in service's role table (service/roles.go)", root, f.Name)
		}
	}
	sort.Strings(fields)
	assert.Equal(t, fields, service.Operations(), "the role table and the schema's root fields differ")
}

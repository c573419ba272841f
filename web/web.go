// Package web serves the browser side: a small dashboard page and GraphiQL.
// Both talk to the same GraphQL API as every other client.
package web

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/99designs/gqlgen/graphql/playground"
)

//go:embed static
var static embed.FS

// Dashboard serves the landing page and its assets.
func Dashboard() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.FileServerFS(sub)
}

// Playground serves GraphiQL against endpoint.
func Playground(endpoint string) http.Handler {
	return playground.Handler("Inquest GraphQL", endpoint)
}

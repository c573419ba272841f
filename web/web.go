// Package web serves the browser side: the dashboard (ES modules, no build
// step) and GraphiQL.
// Both talk to the same GraphQL API as every other client, and everything
// they load is embedded, so they work on a machine without internet.
package web

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/99designs/gqlgen/graphql/playground"
)

//go:embed static
var static embed.FS

func files() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.FileServerFS(sub)
}

// Dashboard serves the landing page.
func Dashboard() http.Handler { return files() }

// Assets serves /assets/: GraphiQL and React, which are versioned by
// their path and so may be cached for a day.
func Assets() http.Handler {
	h := files()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}

// App serves /app/: the dashboard's modules and stylesheet, which change
// with the binary and are not versioned by path, so the browser checks
// them each time.
func App() http.Handler {
	h := files()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// Playground serves GraphiQL against endpoint, loading its scripts from
// Assets rather than a CDN. The integrity hashes are those of the files in
// static/assets/graphiql (see its README), which the browser checks.
func Playground(endpoint string) http.Handler {
	const dir = "/assets/graphiql/"
	return playground.Handler("Inquest GraphQL", endpoint,
		playground.WithGraphiqlVersion(dir+"graphiql.min.js", dir+"graphiql.min.css",
			"sha256-hnImuor1znlJkD/FOTL3jayfS/xsyNoP04abi8bFJWs=", "sha256-MEh+B2NdMSpj9kexQNN3QKc8UzMrCXW/Sx/phcpuyIU="),
		playground.WithGraphiqlReactVersion(dir+"react.production.min.js", dir+"react-dom.production.min.js",
			"sha256-S0lp+k7zWUMk2ixteM6HZvu8L9Eh//OVrt+ZfbCpmgY=", "sha256-IXWO0ITNDjfnNXIu5POVfqlgYoop36bDzhodR6LW5Pc="),
		playground.WithGraphiqlEnablePluginExplorer(false))
}

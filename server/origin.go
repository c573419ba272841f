package server

import (
	"net/http"
	"net/url"
	"strings"
)

// originChecker accepts requests from the server's own origin, from
// clients that send no Origin (SDKs, collectors, CLIs, servers), and from
// the configured origins. Browsers send Origin on every cross-origin POST
// and websocket, so this is what stops a web page from writing into (or
// subscribing to) an Inquest on the user's machine.
func originChecker(allowed []string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		u, err := url.Parse(origin)
		if err != nil {
			return false
		}
		if strings.EqualFold(u.Host, r.Host) {
			return true
		}
		for _, a := range allowed {
			if a == "*" || strings.EqualFold(strings.TrimRight(a, "/"), origin) {
				return true
			}
		}
		return false
	}
}

// sameOrigin refuses cross-origin browser requests with 403.
func sameOrigin(allowed []string, next http.Handler) http.Handler {
	ok := originChecker(allowed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ok(r) {
			http.Error(w, "cross-origin request refused: add the origin to --allowed-origins to allow it", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

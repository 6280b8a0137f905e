package httpapi

import (
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// routesWhere returns the "METHOD /echo/:path" keys of the spec's operations for which keep is
// true: the one walk behind every spec-driven route set (idempotency, secret-bearing replies,
// no-store headers).
func routesWhere(spec *openapi3.T, keep func(item *openapi3.PathItem, op *openapi3.Operation) bool) map[string]bool {
	out := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		echoPath := specParam.ReplaceAllString(path, ":$1")
		for method, op := range item.Operations() {
			if keep(item, op) {
				out[method+" "+echoPath] = true
			}
		}
	}
	return out
}

// withoutUnlimited drops the operations whose spec says `x-rate-limit: none` (the liveness probe)
// from byRoute, so they are charged to no budget and cost no Redis round trip.
func withoutUnlimited(spec *openapi3.T, byRoute map[string]ratelimit.Policy) map[string]ratelimit.Policy {
	for route := range routesWhere(spec, func(_ *openapi3.PathItem, op *openapi3.Operation) bool {
		return op.Extensions["x-rate-limit"] == "none"
	}) {
		delete(byRoute, route)
	}
	return byRoute
}

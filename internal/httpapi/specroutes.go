package httpapi

import "github.com/getkin/kin-openapi/openapi3"

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

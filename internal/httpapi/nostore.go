package httpapi

import (
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// noStoreRoutes are the "METHOD /echo/:path" routes whose success responses declare the
// Cache-Control header: in this contract only the responses that carry a token or secret do, and
// declaring it is how an operation opts in (nowhere else lists them).
func noStoreRoutes(spec *openapi3.T) map[string]bool {
	return routesWhere(spec, func(_ *openapi3.PathItem, op *openapi3.Operation) bool {
		return declaresSuccessHeader(op, echo.HeaderCacheControl)
	})
}

func declaresSuccessHeader(op *openapi3.Operation, name string) bool {
	if op.Responses == nil {
		return false
	}
	for status, r := range op.Responses.Map() {
		if !strings.HasPrefix(status, "2") || r == nil || r.Value == nil {
			continue
		}
		for h := range r.Value.Headers {
			if strings.EqualFold(h, name) {
				return true
			}
		}
	}
	return false
}

// noStoreMiddleware keeps token and secret responses out of every cache (RFC 6749 §5.1). The
// headers are set just before the status line goes out, so neither a handler, the error renderer
// nor an idempotent replay can send such a response without them.
func noStoreMiddleware(routes map[string]bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if routes[c.Request().Method+" "+c.Path()] {
				res := c.Response()
				res.Before(func() {
					res.Header().Set(echo.HeaderCacheControl, "no-store")
					res.Header().Set("Pragma", "no-cache")
				})
			}
			return next(c)
		}
	}
}

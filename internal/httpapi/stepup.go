package httpapi

import (
	"context"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
)

// StepUpChecker decides whether the caller's sign-in is recent enough for a critical operation
// (auth.Accounts implements it). It returns nil, or the reauthentication_required error.
type StepUpChecker interface {
	RequireRecentAuth(ctx context.Context, p auth.Principal) error
}

// stepUpRoutes are the critical operations: those the spec marks `x-step-up: true`.
func stepUpRoutes(spec *openapi3.T) map[string]bool {
	return routesWhere(spec, func(_ *openapi3.PathItem, op *openapi3.Operation) bool {
		v, _ := op.Extensions["x-step-up"].(bool)
		return v
	})
}

var errNoStepUp = apperr.New(apperr.Unauthenticated, "reauthentication_required", "this operation needs a recent sign-in, which this server cannot check")

// stepUpMiddleware refuses a critical operation unless the checker accepts the caller's sign-in.
// It runs after authentication (the principal is on the request context); the checker is the
// authenticator itself when it can check, and without one every critical operation is refused.
func stepUpMiddleware(routes map[string]bool, authn Authenticator) echo.MiddlewareFunc {
	checker, _ := authn.(StepUpChecker)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !routes[c.Request().Method+" "+c.Path()] {
				return next(c)
			}
			ctx := c.Request().Context()
			p, ok := auth.PrincipalFrom(ctx)
			switch {
			case !ok:
				return apperr.New(apperr.Unauthenticated, "unauthenticated", "valid credentials are required")
			case checker == nil:
				return errNoStepUp
			}
			if err := checker.RequireRecentAuth(ctx, p); err != nil {
				return err
			}
			return next(c)
		}
	}
}

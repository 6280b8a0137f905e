package httpapi

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
)

// Authenticator checks the credentials a request presents for one security scheme of the spec.
// scopes are the scheme's scopes on the operation's requirement (the roles it demands).
// It returns an apperr of kind Unauthenticated (no or bad credentials) or Forbidden (valid
// credentials lacking a role).
//
// hooks.Identified, when not nil, must be called once the credentials are known to be genuine,
// before any further lookup (see auth.Identified); hooks.BeforeLookup before looking up a
// credential not known to be genuine (see auth.Hooks).
type Authenticator interface {
	Authenticate(ctx context.Context, creds auth.Credentials, scheme string, scopes []string, hooks auth.Hooks) (auth.Principal, error)
}

// denyAll is the authenticator used when none is configured: nothing non-public is reachable.
type denyAll struct{}

func (denyAll) Authenticate(context.Context, auth.Credentials, string, []string, auth.Hooks) (auth.Principal, error) {
	return auth.Principal{}, apperr.New(apperr.Unauthenticated, "unauthenticated", "valid credentials are required")
}

const principalKey = "ccb.principal"

// specValidator is the spec's request validator (specRoutes.validator): it enforces each
// operation's security requirement through the Authenticator and validates parameters and
// bodies against the spec. A caller whose credentials prove genuine gets its rate-limit decision
// started at once.
func specValidator(routes *specRoutes, authn Authenticator, limits *requestLimits, streamed map[string]bool, publicBase string) echo.MiddlewareFunc {
	full := routes.validator(validatorOptions(authn, limits, false, publicBase))
	// x-stream operations: parameters and security only. kin-openapi reads a body whole to
	// validate it, and also before checking security (in case an AuthenticationFunc wants it),
	// so the validator gets no body at all; the handler gets it back untouched.
	noBody := routes.validator(validatorOptions(authn, limits, true, publicBase))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		withBody := full(next)
		withoutBody := noBody(func(c echo.Context) error {
			if body, ok := c.Get(heldBodyKey).(io.ReadCloser); ok {
				c.Request().Body = body
			}
			return next(c)
		})
		return func(c echo.Context) error {
			if !streamed[c.Request().Method+" "+c.Path()] {
				return withBody(c)
			}
			r := c.Request()
			body := r.Body
			defer func() { r.Body = body }()
			c.Set(heldBodyKey, body)
			r.Body = http.NoBody
			return withoutBody(c)
		}
	}
}

// heldBodyKey holds a streamed request's body while the validator runs.
const heldBodyKey = "ccb.held-body"

func validatorOptions(authn Authenticator, limits *requestLimits, excludeBody bool, publicBase string) *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError:         false,
		ExcludeRequestBody: excludeBody,
		AuthenticationFunc: func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
			ec := echoContextOf(ctx)
			p, err := authenticate(ec, authn, limits, in, publicBase)
			if err != nil {
				// An *echo.HTTPError passes through the validator unchanged, keeping 401, 403
				// and 429 apart; the error handler renders the apperr inside.
				return &echo.HTTPError{Code: kindStatus[apperr.KindOf(err)], Internal: err}
			}
			ec.Set(principalKey, p)
			return nil
		},
	}
}

// authenticate checks c's credentials for one security scheme. A caller whose credentials prove
// genuine has its rate-limit decision and the failure budget's peek started at once (see
// requestLimits.identified); a spent failure budget refuses even a genuine caller, and is met
// before an unknown API key is looked up. Refused credentials are marked for throttleFailures to
// charge; a spent budget is no refusal of theirs.
func authenticate(c echo.Context, authn Authenticator, limits *requestLimits, in *openapi3filter.AuthenticationInput, publicBase string) (auth.Principal, error) {
	gate := limits.gateOf(c)
	if spent := gate.refused(); spent != nil { // another scheme of the request found it spent
		return auth.Principal{}, spent
	}
	ctx := in.RequestValidationInput.Request.Context()
	var work *identifiedWork
	p, err := authn.Authenticate(ctx, credentialsOf(c, publicBase), in.SecuritySchemeName, in.Scopes, auth.Hooks{
		Identified: func(p auth.Principal) auth.Rider {
			work = limits.identified(c, p)
			return work.ride
		},
		BeforeLookup: gate.check,
	})
	if err == nil && work != nil {
		err = work.admit(ctx)
	}
	if err != nil {
		work.withdraw()
		if gate.refused() == nil {
			c.Set(credentialsRefusedKey, true)
		}
		return auth.Principal{}, err
	}
	return p, nil
}

// credentialsOf parses what c's request presents; the domain sees these values, never the request.
// publicBase (CCB_PUBLIC_BASE_URL) is what a DPoP proof's htu is checked against.
func credentialsOf(c echo.Context, publicBase string) auth.Credentials {
	h := c.Request().Header
	creds := auth.Credentials{APIKey: h.Get("X-API-Key"), ClientIP: c.RealIP(), UserAgent: h.Get("User-Agent")}
	if scheme, token, ok := strings.Cut(h.Get(echo.HeaderAuthorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
		creds.Bearer = strings.TrimSpace(token)
	}
	dpopCredentials(&creds, c.Request(), publicBase)
	creds.Ticket = ticketOf(c.Request())
	return creds
}

// attachPrincipal moves the authenticated caller onto the request context, where the strict
// handlers (which see only the request's context) find it. It runs after validation so the body
// the validator buffered is the one the handler reads.
//
// It also puts the response's header map there, so a strict handler can add headers its typed
// response does not declare field by field (e.g. the token budget's RateLimit headers).
func attachPrincipal(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := context.WithValue(c.Request().Context(), responseHeaderKey{}, c.Response().Header())
		if p, ok := c.Get(principalKey).(auth.Principal); ok {
			ctx = auth.WithPrincipal(ctx, p)
		}
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

type responseHeaderKey struct{}

// responseHeader returns the header map of the response being prepared for ctx's request.
func responseHeader(ctx context.Context) http.Header {
	h, _ := ctx.Value(responseHeaderKey{}).(http.Header)
	return h
}

// markMatched records the spec's path template of the operation Echo routed the request to, if
// any. labels is computed once from the routes, so no request pays for rewriting its path.
func markMatched(labels map[string]string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if label, ok := labels[c.Request().Method+" "+c.Path()]; ok {
				c.Set(routeLabelKey, label)
			}
			return next(c)
		}
	}
}

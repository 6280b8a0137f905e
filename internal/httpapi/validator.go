package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
)

// specRoutes finds the spec's route of a request for the request validator. oapi-codegen's
// Echo middleware asks gorilla/mux every time, which tries the spec's path templates one by one
// as regular expressions (~23 allocations and most of the route's cost on the chat path) for a
// request Echo has already routed. For an operation whose path has no parameters the answer is
// fixed, so it is asked once at startup and kept; every other request still goes to the spec
// router, so what the validator sees is what the spec router finds.
type specRoutes struct {
	// static maps "METHOD /path" of the parameterless operations to the route the spec router
	// found for exactly that method and path.
	static map[string]*routers.Route
	router routers.Router
	// plainBodies are the operations whose body validation may take the shortcut of
	// validator_body.go, with the media type it covers.
	plainBodies map[*openapi3.Operation]*openapi3.MediaType
}

func newSpecRoutes(spec *openapi3.T) (*specRoutes, error) {
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("httpapi: spec router: %w", err)
	}
	s := &specRoutes{static: map[string]*routers.Route{}, router: router, plainBodies: plainJSONBodies(spec)}
	for path, item := range spec.Paths.Map() {
		if strings.Contains(path, "{") {
			continue
		}
		for method, op := range item.Operations() {
			// The route the spec router answers for this very request; an operation it would
			// not find (another template first, another method) keeps being asked per request.
			route, _, err := router.FindRoute(&http.Request{Method: method, URL: &url.URL{Path: path}, Header: http.Header{}})
			if err == nil && route.Path == path && route.Operation == op {
				s.static[method+" "+path] = route
			}
		}
	}
	return s, nil
}

// find returns the spec's route and path parameters of c's request. The kept route is only used
// for the path it was found for, escaped as the spec router matches it (a request that spells
// the path with escapes, which Echo routes on too, is the spec router's).
func (s *specRoutes) find(c echo.Context) (*routers.Route, map[string]string, error) {
	req := c.Request()
	if route, ok := s.static[req.Method+" "+c.Path()]; ok && req.URL.EscapedPath() == route.Path {
		return route, nil, nil
	}
	return s.router.FindRoute(req)
}

// validator is the request validation middleware over these routes: kin-openapi's
// ValidateRequest (security through options.AuthenticationFunc, parameters, body) with the
// answers oapi-codegen's middleware gave. Requests Echo could not route skip it, so Echo's own
// 404 and 405 (with Allow) answer them.
func (s *specRoutes) validator(options *openapi3filter.Options) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if routeLabel(c) == "unmatched" {
				return next(c)
			}
			if err := s.validate(c, options); err != nil {
				return err
			}
			return next(c)
		}
	}
}

func (s *specRoutes) validate(c echo.Context, options *openapi3filter.Options) error {
	route, params, err := s.find(c)
	if err != nil {
		if re, ok := err.(*routers.RouteError); ok {
			return echo.NewHTTPError(http.StatusNotFound, re.Reason)
		}
		return echo.NewHTTPError(http.StatusInternalServerError, "error validating route: "+err.Error())
	}
	// The AuthenticationFunc reaches the Echo context through ctx (echoContextOf).
	ctx := context.WithValue(c.Request().Context(), echoContextKey{}, c)
	input := &openapi3filter.RequestValidationInput{Request: c.Request(), PathParams: params, Route: route, Options: options}
	mt, plain := s.plainBodies[route.Operation]
	if !plain || !shortcutApplies(options) {
		return validatorAnswer(openapi3filter.ValidateRequest(ctx, input))
	}
	// Security and parameters as ValidateRequest checks them, then the body, in its order.
	// The security check reads the whole body and hands each scheme a fresh copy, in case an
	// AuthenticationFunc wants it; ours reads headers only, so the body stays out of it (as
	// for x-stream operations, specValidator) and is read once, by the body check.
	bodyless := *options
	bodyless.ExcludeRequestBody = true
	req := c.Request()
	// A body that has arrived whole is checked beside the security check, which mostly waits
	// for authentication's Redis round trip (see overlapBodyBytes); its refusals still come first.
	var shown chan bool
	var readErr error
	if req.ContentLength > 0 && req.ContentLength <= overlapBodyBytes {
		var data []byte
		var checkable bool
		if data, checkable, readErr = takeBody(input, mt); checkable {
			c.Set(earlyBodyKey, data)
			shown = make(chan bool, 1)
			go func() { shown <- shownValid(data, mt) }()
		}
	}
	input.Options = &bodyless
	body := req.Body
	req.Body = http.NoBody
	err = openapi3filter.ValidateRequest(ctx, input)
	req.Body = body
	input.Options = options
	switch {
	case err != nil:
		return validatorAnswer(err)
	case readErr != nil:
		return validatorAnswer(readErr)
	case shown == nil:
		return validatorAnswer(validateBody(ctx, input, mt))
	case <-shown:
		return nil
	}
	return validatorAnswer(openapi3filter.ValidateRequestBody(ctx, input, input.Route.Operation.RequestBody.Value))
}

// overlapBodyBytes bounds the bodies validated beside the security check: such a body, already
// in the connection's buffer in practice, is read before the caller is authenticated, which a
// refused caller then did not need. Larger bodies are read after it, as ValidateRequest reads
// them. At one request at a time the overlap took 65–75 µs off a chat request's time before
// the upstream call (BenchmarkChatProxy/streams=1; the caller's Redis round trip is 150–270 µs).
const overlapBodyBytes = 64 << 10

// validatorAnswer turns what ValidateRequest returns into the *echo.HTTPError the error handler
// renders: 400 for a request the spec refuses, the AuthenticationFunc's own error (401 or 403)
// or 403 for unmet security, 500 for anything else.
func validatorAnswer(err error) error {
	if err == nil {
		return nil
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		return &echo.HTTPError{Code: http.StatusBadRequest, Message: me.Error(), Internal: me}
	}
	switch e := err.(type) {
	case *openapi3filter.RequestError:
		first, _, _ := strings.Cut(e.Error(), "\n")
		return &echo.HTTPError{Code: http.StatusBadRequest, Message: first, Internal: err}
	case *openapi3filter.SecurityRequirementsError:
		for _, err := range e.Errors {
			if httpErr, ok := err.(*echo.HTTPError); ok {
				return httpErr
			}
		}
		return &echo.HTTPError{Code: http.StatusForbidden, Message: e.Error(), Internal: err}
	default:
		return &echo.HTTPError{Code: http.StatusInternalServerError, Message: fmt.Sprintf("error validating request: %s", err), Internal: err}
	}
}

type echoContextKey struct{}

// echoContextOf returns the Echo context of the request ValidateRequest is validating.
func echoContextOf(ctx context.Context) echo.Context {
	c, _ := ctx.Value(echoContextKey{}).(echo.Context)
	return c
}

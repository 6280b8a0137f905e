package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/store"
)

// kindStatus is the one mapping from error kinds to HTTP statuses.
var kindStatus = map[apperr.Kind]int{
	apperr.Internal:            http.StatusInternalServerError,
	apperr.Invalid:             http.StatusBadRequest,
	apperr.Unauthenticated:     http.StatusUnauthorized,
	apperr.Forbidden:           http.StatusForbidden,
	apperr.NotFound:            http.StatusNotFound,
	apperr.MethodNotAllowed:    http.StatusMethodNotAllowed,
	apperr.Conflict:            http.StatusConflict,
	apperr.Gone:                http.StatusGone,
	apperr.PreconditionFailed:  http.StatusPreconditionFailed,
	apperr.TooLarge:            http.StatusRequestEntityTooLarge,
	apperr.Unprocessable:       http.StatusUnprocessableEntity,
	apperr.RateLimited:         http.StatusTooManyRequests,
	apperr.Unavailable:         http.StatusServiceUnavailable,
	apperr.Timeout:             http.StatusGatewayTimeout,
	apperr.BadGateway:          http.StatusBadGateway,
	apperr.RangeNotSatisfiable: http.StatusRequestedRangeNotSatisfiable,
}

// openAIErrorType names the error the way OpenAI SDKs classify it.
func openAIErrorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

// classify turns any error a handler, middleware or the validator returns into an application
// error. Anything unrecognised is Internal: its text goes to the log, never to the client.
func classify(err error) *apperr.Error {
	// The body limit can surface wrapped in a validator error (the validator reads the body).
	var maxBytes *http.MaxBytesError
	if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) || errors.As(err, &maxBytes) {
		return apperr.Wrap(err, apperr.TooLarge, "payload_too_large", "the request body is larger than the server accepts")
	}
	if ae, ok := apperr.As(err); ok {
		return ae
	}
	var reqErr *openapi3filter.RequestError
	if errors.As(err, &reqErr) {
		return validationError(reqErr)
	}
	// A body failing a oneOf reaches us as a bare MultiError of schema errors.
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		return bodyValidationError(err, multi)
	}
	var secErr *openapi3filter.SecurityRequirementsError
	if errors.As(err, &secErr) {
		return apperr.Wrap(err, apperr.Unauthenticated, "unauthenticated", "valid credentials are required")
	}
	// A PostgreSQL or Redis error no call site mapped: an outage is a 503 all the same.
	if o := store.Outage(err); o != nil {
		return o
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return apperr.Wrap(err, apperr.Timeout, "timeout", "the request took too long")
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromHTTPError(he)
	}
	return apperr.Wrap(err, apperr.Internal, "internal_error", "an internal error occurred")
}

func fromHTTPError(he *echo.HTTPError) *apperr.Error {
	switch he.Code {
	case http.StatusNotFound:
		return apperr.Wrap(he, apperr.NotFound, "not_found", "no resource at this path")
	case http.StatusMethodNotAllowed:
		return apperr.Wrap(he, apperr.MethodNotAllowed, "method_not_allowed", "this path does not support the method")
	case http.StatusUnauthorized:
		return apperr.Wrap(he, apperr.Unauthenticated, "unauthenticated", "valid credentials are required")
	case http.StatusForbidden:
		return apperr.Wrap(he, apperr.Forbidden, "forbidden", "the credentials do not allow this operation")
	case http.StatusRequestEntityTooLarge:
		return apperr.Wrap(he, apperr.TooLarge, "payload_too_large", "the request body is larger than the server accepts")
	case http.StatusUnsupportedMediaType, http.StatusBadRequest:
		return apperr.Wrap(he, apperr.Invalid, "bad_request", "the request is malformed")
	}
	return apperr.Wrap(he, apperr.Internal, "internal_error", "an internal error occurred")
}

// validationError points at the parameter or body field the validator rejected.
func validationError(re *openapi3filter.RequestError) *apperr.Error {
	e := apperr.Wrap(re, apperr.Invalid, "validation_failed", "the request does not match the API contract")
	if re.Parameter != nil {
		loc := apperr.Location(re.Parameter.In)
		return e.WithFields(apperr.FieldError{Location: loc, Pointer: re.Parameter.Name, Detail: firstLine(reasonOf(re))})
	}
	if re.RequestBody != nil {
		var schemaErrs []*openapi3.SchemaError
		collectSchemaErrors(re.Err, &schemaErrs)
		if len(schemaErrs) == 0 {
			return e.WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "", Detail: firstLine(reasonOf(re))})
		}
		return withSchemaFields(e, schemaErrs)
	}
	return e
}

func bodyValidationError(cause error, multi openapi3.MultiError) *apperr.Error {
	e := apperr.Wrap(cause, apperr.Invalid, "validation_failed", "the request does not match the API contract")
	var schemaErrs []*openapi3.SchemaError
	collectSchemaErrors(multi, &schemaErrs)
	return withSchemaFields(e, schemaErrs)
}

// withSchemaFields points at each invalid body field once (a oneOf reports every branch).
func withSchemaFields(e *apperr.Error, schemaErrs []*openapi3.SchemaError) *apperr.Error {
	seen := map[string]bool{}
	for _, se := range schemaErrs {
		ptr := jsonPointer(se.JSONPointer())
		if seen[ptr] {
			continue
		}
		seen[ptr] = true
		e = e.WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: ptr, Detail: se.Reason})
	}
	return e
}

func collectSchemaErrors(err error, out *[]*openapi3.SchemaError) {
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		for _, e := range multi {
			collectSchemaErrors(e, out)
		}
		return
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		*out = append(*out, se)
	}
}

// reasonOf is the validator's explanation without the request echoed back.
func reasonOf(re *openapi3filter.RequestError) string {
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return se.Reason
	}
	if re.Reason != "" {
		return re.Reason
	}
	if re.Err != nil {
		var parseErr *openapi3filter.ParseError
		if errors.As(re.Err, &parseErr) {
			return "the value cannot be parsed"
		}
		return re.Err.Error()
	}
	return "invalid value"
}

func jsonPointer(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(p))
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// problemBody builds the client-visible body of e.
func problemBody(e *apperr.Error, status int, requestID, instance string) api.Problem {
	title := http.StatusText(status)
	p := api.Problem{
		Type:      "urn:ccbackend:problem:" + e.Code,
		Title:     title,
		Status:    status,
		Code:      e.Code,
		RequestId: requestID,
		Instance:  &instance,
	}
	if e.Detail != "" {
		d := e.Detail
		p.Detail = &d
	}
	if len(e.Methods) > 0 {
		methods := make([]api.MFAMethod, len(e.Methods))
		for i, m := range e.Methods {
			methods[i] = api.MFAMethod(m)
		}
		p.Methods = &methods
	}
	code := e.Code
	p.Error = api.OpenAIError{Message: firstNonEmpty(e.Detail, title), Type: openAIErrorType(status), Code: &code}
	if len(e.Fields) > 0 {
		fields := make([]api.FieldError, 0, len(e.Fields))
		for _, f := range e.Fields {
			ptr := f.Pointer
			fields = append(fields, api.FieldError{Location: api.FieldErrorLocation(f.Location), Pointer: &ptr, Detail: f.Detail})
		}
		p.Errors = &fields
		param := e.Fields[0].Pointer
		p.Error.Param = &param
	}
	return p
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// newErrorHandler returns Echo's one error renderer: every error becomes problem+json.
func newErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		e := classify(err)
		status := kindStatus[e.Kind]
		rid := requestID(c)
		attrs := []any{slog.String("request_id", rid), slog.Int("status", status), slog.String("code", e.Code)}
		if status >= 500 {
			log.Error("request failed", append(attrs, slog.String("error", err.Error()))...)
		} else {
			log.Debug("request rejected", append(attrs, slog.String("error", err.Error()))...)
		}
		if c.Response().Committed {
			return
		}
		h := c.Response().Header()
		// The contract promises Retry-After on every 503; a 503 raised without a delay gets the
		// outage default.
		if status == http.StatusServiceUnavailable && e.RetryAfter <= 0 {
			e = e.WithRetryAfter(store.OutageRetryAfter)
		}
		if e.RetryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		}
		switch status {
		case http.StatusUnauthorized:
			h.Del("WWW-Authenticate")
			for _, ch := range authChallenges(e.Code, usesDPoPScheme(c.Request())) {
				h.Add("WWW-Authenticate", ch)
			}
		case http.StatusMethodNotAllowed:
			if allow, ok := c.Get(echo.ContextKeyHeaderAllow).(string); ok && h.Get(echo.HeaderAllow) == "" {
				h.Set(echo.HeaderAllow, allow)
			}
		}
		body := problemBody(e, status, rid, c.Request().URL.Path)
		if err := writeProblem(c, status, body); err != nil {
			log.Error("writing problem failed", slog.String("request_id", rid), slog.String("error", fmt.Sprint(err)))
		}
	}
}

func writeProblem(c echo.Context, status int, body api.Problem) error {
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	if c.Request().Method == http.MethodHead {
		return c.NoContent(status)
	}
	return c.JSON(status, body)
}

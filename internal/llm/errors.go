package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrUnknownModel is returned by Router when neither a route nor a default exists for a model.
var ErrUnknownModel = errors.New("llm: unknown model")

// StatusOverloaded is Anthropic's non-standard "overloaded" HTTP status.
const StatusOverloaded = 529

// maxMessageLen bounds the upstream explanation kept in Error.Message: it is meant for logs and
// client-facing hints, and an upstream could send anything.
const maxMessageLen = 300

// redact removes the API key from upstream-supplied text and bounds its length. Upstream
// messages are parsed fields, never raw bodies, but a misbehaving proxy could still echo a key.
func redact(s, apiKey string) string {
	if apiKey != "" {
		s = strings.ReplaceAll(s, apiKey, "[redacted]")
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxMessageLen {
		s = s[:maxMessageLen] + "…"
	}
	return s
}

// retryableStatus reports whether an HTTP status is worth another attempt.
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// statusError builds the Error for an upstream HTTP error response. typ is the upstream error
// type (e.g. overloaded_error) and msg its human-readable message, both possibly empty.
func statusError(provider, apiKey string, status int, typ, msg string, cause error) *Error {
	e := &Error{
		Provider:   provider,
		Status:     status,
		Retryable:  retryableStatus(status),
		Overloaded: status == StatusOverloaded || typ == "overloaded_error",
		Err:        cause,
	}
	text := fmt.Sprintf("upstream returned HTTP %d", status)
	if typ != "" {
		text += " " + typ
	}
	if msg = redact(msg, apiKey); msg != "" {
		text += ": " + msg
	}
	e.Message = text
	return e
}

// contextError reports a request ended by the caller: never retryable, so the router gives up
// at once instead of spending the caller's remaining time on other upstreams.
func contextError(provider string, err error) *Error {
	msg := "request cancelled"
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "request deadline exceeded"
	}
	return &Error{Provider: provider, Message: msg, Err: err}
}

// connError reports a failure without an HTTP status (refused connection, reset, truncated
// stream). These are transient as far as we can tell, hence retryable.
func connError(provider, apiKey, what string, err error) *Error {
	msg := what
	if err != nil {
		msg += ": " + redact(err.Error(), apiKey)
	}
	return &Error{Provider: provider, Retryable: true, Message: msg, Err: err}
}

// asError returns err as an *Error when it already is one.
func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// isProviderFailure reports whether err says something about the upstream's health (as opposed
// to the caller's request or cancellation); only those count towards a circuit breaker.
func isProviderFailure(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	if errors.Is(e, context.Canceled) || errors.Is(e, context.DeadlineExceeded) {
		return false
	}
	return e.Retryable || e.Status >= 500
}

// Error types are the bounded vocabulary of upstream failures, for metrics labels and logs.
const (
	ErrTypeOverloaded  = "overloaded"
	ErrTypeRateLimited = "rate_limited"
	ErrTypeConnection  = "connection"
	ErrTypeAuth        = "auth"
	ErrTypeInvalid     = "invalid_request"
	ErrTypeServer      = "server_error"
	ErrTypeTimeout     = "timeout"
	ErrTypeCancelled   = "cancelled"
	ErrTypeUnavailable = "unavailable" // every breaker open
	ErrTypeInternal    = "internal"    // not an upstream failure: a request we could not translate
)

// ErrorType classifies err into one of the ErrType values ("" for nil).
func ErrorType(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return ErrTypeCancelled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTypeTimeout
	}
	e, ok := asError(err)
	switch {
	case !ok:
		return ErrTypeInternal
	case e.Overloaded:
		return ErrTypeOverloaded
	case e.Status == http.StatusTooManyRequests:
		return ErrTypeRateLimited
	case e.Status == 0:
		return ErrTypeConnection
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return ErrTypeAuth
	case e.Status < 500:
		return ErrTypeInvalid
	}
	return ErrTypeServer
}

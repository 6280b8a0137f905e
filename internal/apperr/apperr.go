// Package apperr is the service's one error vocabulary: domain code returns these values and the
// HTTP layer maps each Kind to a status exactly once.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error for the client; it decides the HTTP status.
type Kind int

// The kinds. Internal is the zero value so an unclassified error never leaks as a client error.
const (
	Internal Kind = iota
	Invalid
	Unauthenticated
	Forbidden
	NotFound
	MethodNotAllowed
	Conflict
	Gone
	PreconditionFailed
	TooLarge
	Unprocessable
	RateLimited
	Unavailable
	Timeout
	BadGateway
	// RangeNotSatisfiable: a byte range past the end of a file (416).
	RangeNotSatisfiable
)

// Location says where an invalid field sits in the request.
type Location string

// Field locations.
const (
	InBody   Location = "body"
	InQuery  Location = "query"
	InPath   Location = "path"
	InHeader Location = "header"
)

// FieldError points at one invalid field.
type FieldError struct {
	Location Location
	Pointer  string // JSON pointer in the body, or the parameter / header name
	Detail   string
}

// Error is an application error: safe to show the client (Code, Detail, Fields), with the cause
// kept for the logs only.
type Error struct {
	Kind   Kind
	Code   string // stable machine-readable code, e.g. "validation_failed"
	Detail string // human-readable, client-safe
	Fields []FieldError
	// RetryAfter, when set, tells the client how long to wait (429, 503).
	RetryAfter time.Duration
	// Methods, when set, are the ways the client can (re-)authenticate (reauthentication_required).
	Methods []string
	Err     error // the cause; never shown to the client
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an application error.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Wrap returns an application error that keeps cause for the logs.
func Wrap(cause error, kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail, Err: cause}
}

// WithFields returns a copy of e that points at the invalid fields.
func (e *Error) WithFields(fields ...FieldError) *Error {
	c := *e
	c.Fields = append(append([]FieldError{}, e.Fields...), fields...)
	return &c
}

// WithRetryAfter returns a copy of e that asks the client to wait d.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// WithMethods returns a copy of e that lists the authentication methods the client may use.
func (e *Error) WithMethods(methods []string) *Error {
	c := *e
	c.Methods = append([]string{}, methods...)
	return &c
}

// As returns the application error in err's chain, if any.
func As(err error) (*Error, bool) {
	var ae *Error
	if errors.As(err, &ae) {
		return ae, true
	}
	return nil, false
}

// KindOf returns the kind of err; Internal for anything that is not an application error.
func KindOf(err error) Kind {
	if ae, ok := As(err); ok {
		return ae.Kind
	}
	return Internal
}

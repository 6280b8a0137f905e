// Package apitime is the contract's date-time: RFC 3339 in UTC with exactly millisecond precision
// (2006-01-02T15:04:05.000Z), one fixed format that Swift's ISO 8601 decoders accept. The
// generated API models use it for every `format: date-time` (see api/oapi-codegen.yaml).
package apitime

import (
	"fmt"
	"time"
)

// Layout is the wire format.
const Layout = "2006-01-02T15:04:05.000Z07:00"

// Time is a time.Time that marshals in Layout.
type Time struct {
	time.Time
}

// New returns t as an API time, in UTC and truncated to milliseconds.
func New(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// String formats t in Layout.
func (t Time) String() string { return t.UTC().Format(Layout) }

// MarshalText formats t in Layout.
func (t Time) MarshalText() ([]byte, error) {
	return []byte(t.String()), nil
}

// MarshalJSON formats t in Layout, quoted.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.String() + `"`), nil
}

// UnmarshalText accepts any RFC 3339 time (clients may send other precisions or offsets).
func (t *Time) UnmarshalText(b []byte) error {
	parsed, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return fmt.Errorf("not an RFC 3339 date-time: %q", b)
	}
	*t = New(parsed)
	return nil
}

// UnmarshalJSON accepts a quoted RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("date-time must be a JSON string")
	}
	return t.UnmarshalText(b[1 : len(b)-1])
}

// Bind lets oapi-codegen's runtime bind query and path parameters.
func (t *Time) Bind(src string) error { return t.UnmarshalText([]byte(src)) }

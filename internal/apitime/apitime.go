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
func (t Time) String() string { return string(t.AppendTo(make([]byte, 0, len(Layout)))) }

// AppendTo appends t in Layout to b. Years 0–9999 are written digit by digit, the rest by
// time.AppendFormat: a list page formats two times per row, and the general formatter (which
// parses the layout on every call) was a visible part of its cost.
func (t Time) AppendTo(b []byte) []byte {
	u := t.UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		return u.AppendFormat(b, Layout)
	}
	hour, minute, second := u.Clock()
	b = appendDigits(b, year, 4)
	b = appendDigits(append(b, '-'), int(month), 2)
	b = appendDigits(append(b, '-'), day, 2)
	b = appendDigits(append(b, 'T'), hour, 2)
	b = appendDigits(append(b, ':'), minute, 2)
	b = appendDigits(append(b, ':'), second, 2)
	b = appendDigits(append(b, '.'), u.Nanosecond()/int(time.Millisecond), 3)
	return append(b, 'Z')
}

// appendDigits appends n (0 <= n < 10^width, width <= 4) as exactly width decimal digits.
func appendDigits(b []byte, n, width int) []byte {
	start := len(b)
	b = append(b, "0000"[:width]...)
	for i := len(b) - 1; i >= start; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

// MarshalText formats t in Layout.
func (t Time) MarshalText() ([]byte, error) {
	return t.AppendTo(make([]byte, 0, len(Layout))), nil
}

// MarshalJSON formats t in Layout, quoted.
func (t Time) MarshalJSON() ([]byte, error) {
	b := t.AppendTo(append(make([]byte, 0, len(Layout)+2), '"'))
	return append(b, '"'), nil
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

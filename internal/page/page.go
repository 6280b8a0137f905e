// Package page implements the contract's list conventions: a page size with a default and a
// maximum, and opaque keyset cursors that are signed so a tampered cursor is rejected (400).
package page

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Default and Max page sizes (DESIGN.md §2).
const (
	Default = 50
	Max     = 200
)

// Size returns the requested page size, defaulted and capped.
func Size(limit *int) int {
	switch {
	case limit == nil || *limit <= 0:
		return Default
	case *limit > Max:
		return Max
	}
	return *limit
}

// Cursors signs and verifies cursors. A cursor is bound to the list it came from (scope), so one
// list's cursor cannot be replayed against another. It also holds the byte budget of a page.
type Cursors struct {
	key    []byte
	budget int
}

// DefaultByteBudget bounds the encoded size of one page when no budget is configured.
const DefaultByteBudget = 4 << 20

// NewCursors returns a signer using key (derive it from the service secret) and the default
// page byte budget.
func NewCursors(key []byte) *Cursors { return &Cursors{key: key, budget: DefaultByteBudget} }

// WithByteBudget returns c with pages cut once their rows' estimated size would pass n bytes.
func (c *Cursors) WithByteBudget(n int) *Cursors {
	out := *c
	out.budget = n
	return &out
}

// Encode returns the opaque cursor for position (any JSON-encodable keyset position).
func (c *Cursors) Encode(scope string, position any) string {
	payload, err := json.Marshal(position)
	if err != nil {
		panic("page: cursor position is not JSON-encodable: " + err.Error())
	}
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(c.sign(scope, body))
}

// Decode verifies cursor and fills position. Any tampering is an Invalid error that points at
// the cursor query parameter.
func (c *Cursors) Decode(scope, cursor string, position any) error {
	body, sig, ok := strings.Cut(cursor, ".")
	rawSig, err := base64.RawURLEncoding.DecodeString(sig)
	if ok && err == nil && hmac.Equal(rawSig, c.sign(scope, body)) {
		payload, err := base64.RawURLEncoding.DecodeString(body)
		// Only Encode's own spelling: the decoder would also take line breaks and other trailing
		// bits, letting one position travel under many cursors.
		canonical := sig == base64.RawURLEncoding.EncodeToString(rawSig) && body == base64.RawURLEncoding.EncodeToString(payload)
		if err == nil && canonical && json.Unmarshal(payload, position) == nil {
			return nil
		}
	}
	return apperr.New(apperr.Invalid, "invalid_cursor", "the cursor is malformed or was not issued for this list").
		WithFields(apperr.FieldError{Location: apperr.InQuery, Pointer: "cursor", Detail: "not a cursor this list issued"})
}

func (c *Cursors) sign(scope, body string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write([]byte(body))
	return m.Sum(nil)[:16]
}

// Trim cuts rows fetched with limit+1 to limit and reports whether more exist.
func Trim[T any](rows []T, limit int) ([]T, bool) {
	if len(rows) > limit {
		return rows[:limit], true
	}
	return rows, false
}

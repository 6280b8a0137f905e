// Package freeform bounds the free-form JSON objects clients may store (project settings,
// message metadata, profile preferences): their encoded size, how deep they nest and how many
// members one object holds. Without it one request stores megabytes that every later list page
// carries again.
package freeform

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Limits bound one free-form member. The contract states the same numbers (maxProperties, and
// the byte and depth limits in the member's description).
type Limits struct {
	Bytes int // encoded JSON size
	Depth int // nesting: a flat object is depth 1
	Keys  int // members of any one object at any level
}

// Settings bounds a project's settings and a user's preferences.
var Settings = Limits{Bytes: 64 << 10, Depth: 8, Keys: 256}

// Metadata bounds a message's metadata, which every message list page repeats.
var Metadata = Limits{Bytes: 16 << 10, Depth: 8, Keys: 64}

// Encode checks m against l and returns its JSON (nil becomes {}). A violation is an Invalid
// error whose field pointer names the offending member below pointer (e.g. /settings/a/b).
func Encode(m map[string]any, l Limits, pointer string) ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	if err := walk(m, l, pointer, 1); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > l.Bytes {
		return nil, invalid(pointer, fmt.Sprintf("at most %d KiB as JSON", l.Bytes>>10))
	}
	return b, nil
}

// Check is Encode for callers that store the object later (after merging it, in a transaction).
func Check(m map[string]any, l Limits, pointer string) error {
	_, err := Encode(m, l, pointer)
	return err
}

// walk checks depth and member counts before anything is encoded, so a deep value costs no
// encoding work.
func walk(v any, l Limits, pointer string, depth int) error {
	switch x := v.(type) {
	case map[string]any:
		if depth > l.Depth {
			return invalid(pointer, fmt.Sprintf("nested deeper than %d levels", l.Depth))
		}
		if len(x) > l.Keys {
			return invalid(pointer, fmt.Sprintf("more than %d members", l.Keys))
		}
		for k, e := range x {
			if err := walk(e, l, pointer+"/"+escape(k), depth+1); err != nil {
				return err
			}
		}
	case []any:
		if depth > l.Depth {
			return invalid(pointer, fmt.Sprintf("nested deeper than %d levels", l.Depth))
		}
		for i, e := range x {
			if err := walk(e, l, pointer+"/"+strconv.Itoa(i), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// escape encodes a key as a JSON Pointer reference token (RFC 6901).
func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

func invalid(pointer, detail string) error {
	return apperr.New(apperr.Invalid, "validation_failed", strings.TrimPrefix(pointer, "/")+": "+detail).
		WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: pointer, Detail: detail})
}

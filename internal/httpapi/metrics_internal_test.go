package httpapi

import (
	"strconv"
	"testing"
)

// The precomputed status labels must read exactly as strconv writes the code, inside the table
// and outside it.
func TestStatusLabel(t *testing.T) {
	for _, code := range []int{0, 100, 200, 204, 404, 429, 503, 599, 600, 999, -1} {
		if got, want := statusLabel(code), strconv.Itoa(code); got != want {
			t.Errorf("statusLabel(%d) = %q, want %q", code, got, want)
		}
	}
}

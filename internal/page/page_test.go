package page

import (
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

type pos struct {
	At time.Time `json:"at"`
	ID string    `json:"id"`
}

func TestCursorRoundTripAndTamper(t *testing.T) {
	c := NewCursors([]byte("k1"))
	want := pos{At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), ID: "abc"}
	cur := c.Encode("users", want)
	var got pos
	if err := c.Decode("users", cur, &got); err != nil || !got.At.Equal(want.At) || got.ID != want.ID {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	tampered := []string{
		"", "garbage", cur + "x", "x" + cur,
		c.Encode("api_keys", want),                     // another list's cursor
		NewCursors([]byte("k2")).Encode("users", want), // another key
		cur[:len(cur)-2] + "AA",
	}
	for _, bad := range tampered {
		var p pos
		err := c.Decode("users", bad, &p)
		if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Invalid || len(ae.Fields) != 1 || ae.Fields[0].Pointer != "cursor" {
			t.Errorf("Decode(%q) = %v, want Invalid pointing at cursor", bad, err)
		}
	}
}

func TestSize(t *testing.T) {
	n := func(v int) *int { return &v }
	for in, want := range map[*int]int{nil: 50, n(0): 50, n(1): 1, n(200): 200, n(500): 200} {
		if got := Size(in); got != want {
			t.Errorf("Size(%v) = %d, want %d", in, got, want)
		}
	}
}

// A cursor has one spelling: the base64 decoder ignores line breaks and the unused bits of the
// last character, which would let one position travel under many cursors.
func TestCursorHasOneSpelling(t *testing.T) {
	c := NewCursors([]byte("k1"))
	cur := c.Encode("users", pos{ID: "abc"})
	body, sig, _ := strings.Cut(cur, ".")
	last := sig[len(sig)-1]
	variants := []string{
		body + ".\n" + sig, body[:2] + "\r\n" + body[2:] + "." + sig,
		body + "." + sig[:len(sig)-1] + string(last+1), // the last character's unused bits differ
	}
	for _, v := range variants {
		var p pos
		if err := c.Decode("users", v, &p); err == nil {
			t.Errorf("Decode accepted the variant %q of %q", v, cur)
		}
	}
}

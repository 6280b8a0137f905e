package page

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// FuzzCursorDecode feeds Decode arbitrary cursors and checks the round trip of Encode: a
// cursor is accepted only as Encode wrote it for the same list (one spelling per position, so
// a cursor cannot be varied to slip past a cache or a log filter), and every rejection is the
// one 400 pointing at the cursor parameter.
func FuzzCursorDecode(f *testing.F) {
	c := NewCursors([]byte("fuzz-key"))
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	f.Add(c.Encode("projects", pos{At: at, ID: "abc"}), "projects", "abc", at.UnixNano())
	f.Add(c.Encode("projects", pos{At: at, ID: "abc"}), "api_keys", "", int64(0))
	good := c.Encode("projects", pos{At: at, ID: "abc"})
	f.Add(strings.Replace(good, ".", ".\n", 1), "projects", "abc", int64(0)) // decodes, but is not Encode's spelling
	f.Add("", "projects", "x", int64(1))
	f.Add(".", "", "", int64(-1))
	f.Add("eyJpZCI6IngifQ.AAAAAAAAAAAAAAAAAAAAAA", "projects", "\x00", int64(1<<62))
	f.Fuzz(func(t *testing.T, cursor, scope, id string, nanos int64) {
		var got pos
		if err := c.Decode(scope, cursor, &got); err != nil {
			requireCursorError(t, err)
		} else {
			body, _, _ := strings.Cut(cursor, ".")
			if want := body + "." + base64.RawURLEncoding.EncodeToString(c.sign(scope, body)); cursor != want {
				t.Fatalf("Decode accepted %q, which Encode spells %q", cursor, want)
			}
		}

		want := pos{At: time.Unix(0, nanos).UTC(), ID: id}
		enc := c.Encode(scope, want)
		var back pos
		if err := c.Decode(scope, enc, &back); err != nil {
			t.Fatalf("Decode(Encode(%+v)) = %v", want, err)
		}
		// JSON keeps strings as valid UTF-8, so an invalid id comes back with U+FFFD.
		if !back.At.Equal(want.At) || (back.ID != want.ID && strings.ToValidUTF8(want.ID, "\uFFFD") == want.ID) {
			t.Fatalf("round trip: got %+v, want %+v", back, want)
		}
		if err := c.Decode(scope+"/other", enc, &back); err == nil {
			t.Fatalf("a cursor of list %q was accepted by list %q", scope, scope+"/other")
		} else {
			requireCursorError(t, err)
		}
	})
}

func requireCursorError(t *testing.T, err error) {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != apperr.Invalid || len(ae.Fields) != 1 || ae.Fields[0].Pointer != "cursor" || ae.Fields[0].Location != apperr.InQuery {
		t.Fatalf("Decode error = %v, want Invalid pointing at the cursor query parameter", err)
	}
}

package freeform

import (
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

func nested(depth int) map[string]any {
	m := map[string]any{"leaf": true}
	for range depth - 1 {
		m = map[string]any{"a/b": m}
	}
	return m
}

func TestEncodeBounds(t *testing.T) {
	l := Limits{Bytes: 1 << 10, Depth: 3, Keys: 4}
	many := map[string]any{}
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		many[k] = 1
	}
	cases := []struct {
		name    string
		in      map[string]any
		pointer string // "" when accepted
	}{
		{"nil", nil, ""},
		{"at the limits", map[string]any{"x": nested(2), "s": strings.Repeat("x", 900)}, ""},
		{"too large", map[string]any{"s": strings.Repeat("x", 1100)}, "/m"},
		{"too deep", nested(4), "/m/a~1b/a~1b/a~1b"},
		{"too deep in a list", map[string]any{"l": []any{[]any{map[string]any{}}}}, "/m/l/0/0"},
		{"too many members", map[string]any{"x": many}, "/m/x"},
	}
	for _, c := range cases {
		b, err := Encode(c.in, l, "/m")
		if c.pointer == "" {
			if err != nil || len(b) == 0 {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		ae, ok := apperr.As(err)
		if !ok || ae.Kind != apperr.Invalid || len(ae.Fields) != 1 || ae.Fields[0].Pointer != c.pointer {
			t.Errorf("%s: %v, want Invalid at %s", c.name, err, c.pointer)
		}
	}
}

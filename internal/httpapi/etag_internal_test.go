package httpapi

import "testing"

func TestETagAndIfMatch(t *testing.T) {
	s := func(v string) *string { return &v }
	if got := *etag(7); got != `"7"` {
		t.Errorf("etag(7) = %s", got)
	}
	cases := []struct {
		header *string
		want   int64 // 0: no precondition
	}{
		{nil, 0}, {s(""), 0}, {s(" * "), 0},
		{etag(7), 7}, {s(`W/"7"`), 7}, {s(` "12" `), 12},
		{s("7"), -1}, {s(`"7`), -1}, {s(`"x"`), -1}, {s(`"1", "2"`), -1},
	}
	for _, c := range cases {
		got := parseIfMatch(c.header)
		switch {
		case c.want == 0 && got != nil:
			t.Errorf("parseIfMatch(%v) = %d, want none", *c.header, *got)
		case c.want != 0 && (got == nil || *got != c.want):
			t.Errorf("parseIfMatch(%q) = %v, want %d", *c.header, got, c.want)
		}
	}
}

package auth

import (
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

func TestPasswordPolicy(t *testing.T) {
	cases := map[string]bool{
		"correct horse battery staple": true,
		strings.Repeat("x", 72):        true,
		strings.Repeat("x", 73):        false, // refused, not truncated
		strings.Repeat("é", 36):        true,  // 72 bytes
		strings.Repeat("é", 37):        false, // 74 bytes though 37 characters
		"short":                        false,
		"Password123":                  false, // common, any case
		"qwertyuiop":                   false,
	}
	for pw, ok := range cases {
		err := CheckPolicy(pw, "/password")
		if (err == nil) != ok {
			t.Errorf("CheckPolicy(%q) = %v, want ok=%t", pw, err, ok)
		}
		if ae, isApp := apperr.As(err); err != nil && (!isApp || ae.Fields[0].Pointer != "/password") {
			t.Errorf("CheckPolicy(%q) error does not point at the field: %v", pw, err)
		}
	}
}

func TestPasswordHashing(t *testing.T) {
	p, err := NewPasswords(4)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Hash("correct horse battery staple", "/password")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Matches(h, "correct horse battery staple") || p.Matches(h, "correct horse battery stapl") {
		t.Error("Matches is wrong")
	}
	// A password that shares the first 72 bytes of a longer one must not match it.
	long := strings.Repeat("a", 72)
	h2, _ := p.Hash(long, "/password")
	if p.Matches(h2, long+"extra") {
		t.Error("a 73+ byte password matched by its 72-byte prefix")
	}
}

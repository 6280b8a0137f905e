package auth

import (
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

func TestPasswordPolicy(t *testing.T) {
	p, err := NewPasswords(4)
	if err != nil {
		t.Fatal(err)
	}
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
		err := p.CheckPolicy(pw, "/password")
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

// The list is the real one: entries deep in the ranked source are refused, and the size stays in
// the range a useful list has.
func TestCommonPasswordListIsDeep(t *testing.T) {
	p, err := NewPasswords(4)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.common); n < 10000 || n > 100000 {
		t.Errorf("common-password list has %d entries, want 10k–100k", n)
	}
	// Ranks 9000, 20005, 40000 and 48001 of @zxcvbn-ts/language-common's list, and a curated sequence.
	for _, pw := range []string{"trooper1", "TROOPER1", "alistair", "anastacia", "7410258963", "0123456789"} {
		if ae, ok := apperr.As(p.CheckPolicy(pw, "/password")); !ok || ae.Code != "weak_password" {
			t.Errorf("CheckPolicy(%q) = %v, want weak_password", pw, ae)
		}
	}
	if err := p.CheckPolicy("vX9!qT2#mL7@wR4z", "/password"); err != nil {
		t.Errorf("a random password was refused: %v", err)
	}
}

// BenchmarkLoadCommonPasswords is the start-up cost of the list (once per process); -benchmem
// shows the memory it takes.
func BenchmarkLoadCommonPasswords(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := loadCommonPasswords(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommonPasswordLookup is the per-request cost of the check.
func BenchmarkCommonPasswordLookup(b *testing.B) {
	p, err := NewPasswords(4)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.isCommon("Correct Horse Battery Staple")
	}
}

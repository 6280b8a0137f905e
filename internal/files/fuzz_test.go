package files

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// FuzzNormalizePath checks the stored form of a file path against what a client may do with
// it: materialise it under a directory (it must stay inside), normalise it again (nothing may
// change), list a directory by byte range (children fall inside the range, the directory's
// siblings outside), and show it (no control, bidirectional or invisible characters).
func FuzzNormalizePath(f *testing.F) {
	for _, seed := range []string{
		"src/main.go", "cafe\u0301/x", "...", "%41", "a/../b", "..", "a//b", "/etc", "a\\b", "a\x00b",
		"%2e%2e/x", "\uFF0E\uFF0E", "\u2025", " .. ", "x\u202Ey", "x\u200By", "\xff", "a/b/",
		"\u0041\u030a/\u212b", "\uFE52\uFE52", "\u2024\u2024", "x/\uFF0F/y", "%2E%2e", "d\u0307\u0323",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		out, err := NormalizePath(p)
		if err != nil {
			if _, ok := err.(pathError); !ok {
				t.Fatalf("NormalizePath(%q) error %T, want pathError", p, err)
			}
			ae, ok := apperr.As(invalidPath(err, apperr.InBody, "/path"))
			if !ok || ae.Kind != apperr.Invalid || len(ae.Fields) != 1 || ae.Fields[0].Pointer != "/path" {
				t.Fatalf("invalidPath(%v) = %v", err, ae)
			}
			return
		}
		if !utf8.ValidString(out) || !norm.NFC.IsNormalString(out) || len(out) > maxPathBytes {
			t.Fatalf("NormalizePath(%q) = %q: not NFC UTF-8 of at most 1024 bytes", p, out)
		}
		if again, err := NormalizePath(out); err != nil || again != out {
			t.Fatalf("NormalizePath is not idempotent on %q: %q, %v", out, again, err)
		}
		if path.Clean(out) != out {
			t.Fatalf("NormalizePath(%q) = %q, which path.Clean changes to %q", p, out, path.Clean(out))
		}
		if full := filepath.Join("/srv/root", filepath.FromSlash(out)); !strings.HasPrefix(full, "/srv/root/") {
			t.Fatalf("%q materialises outside its root: %q", out, full)
		}
		for _, seg := range strings.Split(out, "/") {
			if name, err := NormalizeName(seg); err != nil || name != seg {
				t.Fatalf("segment %q of %q is not a name: %q, %v", seg, out, name, err)
			}
			if t2 := strings.TrimSpace(norm.NFKC.String(seg)); t2 == "." || t2 == ".." {
				t.Fatalf("segment %q of %q folds to %q", seg, out, t2)
			}
			for _, r := range seg {
				if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\\' {
					t.Fatalf("segment %q of %q holds %U", seg, out, r)
				}
			}
		}
		lo, hi, err := dirRange(out + "/")
		if err != nil {
			t.Fatalf("dirRange(%q/) = %v", out, err)
		}
		if child := out + "/c"; child < lo || child >= hi {
			t.Fatalf("child %q is outside [%q, %q)", child, lo, hi)
		}
		for _, sibling := range []string{out, out + "0", out + ".x", out + "-"} {
			if sibling >= lo && sibling < hi {
				t.Fatalf("sibling %q is inside [%q, %q)", sibling, lo, hi)
			}
		}
	})
}

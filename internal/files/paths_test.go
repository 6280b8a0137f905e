package files

import (
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"src/main.go":            "src/main.go",
		"cafe\u0301/x":           "caf\u00e9/x", // NFC
		"a b/c.d.e":              "a b/c.d.e",
		"...":                    "...",
		"%41":                    "%41",
		strings.Repeat("a", 255): strings.Repeat("a", 255),
	} {
		got, err := NormalizePath(in)
		if err != nil || got != want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "/etc", "a/../b", "..", ".", "a/.", "a//b", "a/", "a\\b", "a\x00b", "a\nb", "a\rb", "a\tb",
		"%2e%2e", "%2E.", "\uFF0E\uFF0E", "\u2025", "\u2024", " .. ", "x\u202Ey", "x\u2067y", "x\u200Fy",
		"x\u2215y", "x\uFF0Fy", "x\u200By", "\xff", strings.Repeat("a", 256), strings.Repeat("a/", 512) + "a",
	} {
		if got, err := NormalizePath(in); err == nil {
			t.Errorf("NormalizePath(%q) = %q, want an error", in, got)
		}
	}
}

func TestDirRange(t *testing.T) {
	lo, hi, err := dirRange("src/")
	if err != nil || lo != "src/" || hi != "src0" {
		t.Fatalf("dirRange(src/) = %q %q %v", lo, hi, err)
	}
	if lo2, _, _ := dirRange("src"); lo2 != lo {
		t.Errorf("src and src/ differ: %q", lo2)
	}
	if lo, _, err := dirRange("/"); lo != "" || err != nil {
		t.Errorf("root = %q %v", lo, err)
	}
	if _, _, err := dirRange("../x"); err == nil {
		t.Error("dirRange(../x) accepted")
	}
}

package files

import (
	"errors"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// A file name is one path segment: it gets the segment rules (NFC, no dot names, no controls)
// and may not smuggle a directory in with "/" or bytes that are not UTF-8. A refusal becomes a
// 400 invalid_path pointing at the field, with a detail that names the field and the rule.
func TestNormalizeName(t *testing.T) {
	if got, err := NormalizeName("cafe\u0301.txt"); err != nil || got != "caf\u00e9.txt" {
		t.Errorf("NormalizeName(cafe + combining accent) = %q, %v; want the NFC form", got, err)
	}
	for in, rule := range map[string]string{
		"a/b":     `must not contain "/"`,
		"\xffx":   "not valid UTF-8",
		"..":      "",
		"":        "empty segment",
		"x\u202E": "",
	} {
		got, err := NormalizeName(in)
		if err == nil {
			t.Errorf("NormalizeName(%q) = %q, want a refusal", in, got)
			continue
		}
		if !strings.Contains(err.Error(), rule) {
			t.Errorf("NormalizeName(%q) = %v, want the rule %q", in, err, rule)
		}
		var ae *apperr.Error
		if !errors.As(invalidPath(err, apperr.InBody, "/name"), &ae) || ae.Code != "invalid_path" || len(ae.Fields) != 1 ||
			ae.Fields[0].Pointer != "/name" || !strings.Contains(ae.Detail, err.Error()) {
			t.Errorf("invalidPath(%v) = %+v, want invalid_path at /name carrying the rule", err, ae)
		}
	}
}

// An error that is not a path rule (a store failure) passes invalidPath unchanged: it must not
// turn into a client's 400.
func TestInvalidPathKeepsOtherErrors(t *testing.T) {
	other := errors.New("store: connection reset")
	if got := invalidPath(other, apperr.InBody, "/name"); got != other {
		t.Errorf("invalidPath(%v) = %v, want it unchanged", other, got)
	}
}

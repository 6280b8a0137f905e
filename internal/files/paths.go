package files

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

const (
	maxPathBytes    = 1024
	maxSegmentBytes = 255
)

// pathError is a 400 pointing at the offending field (pointer and location chosen by the caller).
type pathError struct{ detail string }

func (e pathError) Error() string { return e.detail }

// NormalizePath returns p in its one stored form: Unicode NFC, "/"-separated, no leading or
// trailing "/", no empty, "." or ".." segment, no NUL, control, bidirectional-control or
// invisible format character, no backslash or slash look-alike, at most 1024 bytes, segments at
// most 255 bytes. Segments that only look like "." or ".." (fullwidth or one-dot-leader dots,
// percent-encoded dots) are refused too: a client that materialises the tree on disk, or
// decodes once more, must not be walked out of it.
func NormalizePath(p string) (string, error) {
	if !utf8.ValidString(p) {
		return "", pathError{"is not valid UTF-8"}
	}
	p = norm.NFC.String(p)
	if p == "" {
		return "", pathError{"is empty"}
	}
	if len(p) > maxPathBytes {
		return "", pathError{"is longer than 1024 bytes"}
	}
	if strings.HasPrefix(p, "/") {
		return "", pathError{`must be relative (no leading "/")`}
	}
	for _, seg := range strings.Split(p, "/") {
		if err := checkSegment(seg); err != nil {
			return "", err
		}
	}
	return p, nil
}

// NormalizeName checks a file name (one path segment) and returns its NFC form.
func NormalizeName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", pathError{"is not valid UTF-8"}
	}
	name = norm.NFC.String(name)
	if strings.Contains(name, "/") {
		return "", pathError{`must not contain "/"`}
	}
	return name, checkSegment(name)
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return pathError{`has an empty segment ("//" or a trailing "/")`}
	case len(seg) > maxSegmentBytes:
		return pathError{"has a segment longer than 255 bytes"}
	}
	for _, r := range seg {
		if err := checkRune(r); err != nil {
			return err
		}
	}
	if dotty(seg) {
		return pathError{`has a "." or ".." segment (or one that looks like it)`}
	}
	return nil
}

func checkRune(r rune) error {
	switch {
	case r == 0:
		return pathError{"contains a NUL character"}
	case unicode.IsControl(r):
		return pathError{"contains a control character"}
	case r == '\\' || r == '\u2215' || r == '\u2044' || r == '\u29F8' || r == '\uFF0F' || r == '\uFF3C':
		return pathError{"contains a backslash or a character that looks like a slash"}
	case isBidi(r):
		return pathError{"contains a bidirectional control character"}
	case unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
		return pathError{"contains an invisible formatting character"}
	}
	return nil
}

// isBidi reports the characters that reorder displayed text (the "Trojan Source" set).
func isBidi(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// dotty reports a segment that is, or decodes or folds to, "." or "..".
func dotty(seg string) bool {
	for _, form := range []string{seg, norm.NFKC.String(seg), strings.ReplaceAll(strings.ToLower(seg), "%2e", ".")} {
		if t := strings.TrimSpace(form); t == "." || t == ".." {
			return true
		}
	}
	return false
}

// dirRange returns the [lo, hi) byte range of the paths inside directory prefix: "/" is the
// root; otherwise prefix is a normalised path with an optional trailing "/".
func dirRange(prefix string) (lo, hi string, err error) {
	if prefix == "/" {
		return "", "\U0010FFFF\U0010FFFF", nil
	}
	d, err := NormalizePath(strings.TrimSuffix(prefix, "/"))
	if err != nil {
		return "", "", err
	}
	// "/" is 0x2F and "0" 0x30: every path below d+"/" sorts before d+"0" in byte order.
	return d + "/", d + "0", nil
}

// invalidPath is the 400 for a bad path or name at a field.
func invalidPath(err error, loc apperr.Location, pointer string) error {
	pe, ok := err.(pathError)
	if !ok {
		return err
	}
	detail := pointerLabel(pointer) + " " + pe.detail
	return apperr.New(apperr.Invalid, "invalid_path", detail).WithFields(apperr.FieldError{Location: loc, Pointer: pointer, Detail: detail})
}

func pointerLabel(p string) string { return strings.TrimPrefix(p, "/") }

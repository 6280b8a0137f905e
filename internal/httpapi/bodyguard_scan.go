package httpapi

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// scanJSON returns the first member or value of body the guard refuses. It checks the body's
// syntax with json.Valid (no allocations; it also bounds the nesting depth, which bounds the
// recursion below) and then walks it once. A body that is not JSON passes: the validator
// answers it as it always has.
func scanJSON(body []byte, root *shape) *apperr.FieldError {
	if !json.Valid(body) {
		// One value followed by more: the validator and the binder would each read only the first.
		var first json.RawMessage
		if json.NewDecoder(bytes.NewReader(body)).Decode(&first) == nil {
			return &apperr.FieldError{Location: apperr.InBody, Pointer: "", Detail: "the body must hold exactly one JSON value; data follows it"}
		}
		return nil
	}
	s := scanner{data: body}
	s.space()
	f := s.value(root)
	if f == nil {
		return nil
	}
	slices.Reverse(f.path)
	var ptr strings.Builder
	for _, p := range f.path {
		ptr.WriteByte('/')
		ptr.WriteString(escapePointer(p))
	}
	return &apperr.FieldError{Location: apperr.InBody, Pointer: ptr.String(), Detail: f.detail}
}

// fault is what the scan refuses; path holds the pointer's tokens innermost first, each level
// adding its own on the way out.
type fault struct {
	path   []string
	detail string
}

func (f *fault) at(token string) *fault {
	f.path = append(f.path, token)
	return f
}

// scanner walks JSON that json.Valid accepted, so it never meets a syntax error.
type scanner struct {
	data []byte
	i    int
}

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// value scans the value at s.i, whose place in the body has shape sh.
func (s *scanner) value(sh *shape) *fault {
	switch s.data[s.i] {
	case '{':
		return s.object(sh)
	case '[':
		return s.array(sh.elements())
	case '"':
		if _, _, nul := s.str(); nul {
			return &fault{detail: nulDetail}
		}
	default: // a number, true, false or null
		for s.i < len(s.data) && !endsLiteral(s.data[s.i]) {
			s.i++
		}
	}
	return nil
}

func endsLiteral(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// more moves to the n-th element or member of the container that end closes, and reports
// whether there is one (false: it moved past end).
func (s *scanner) more(end byte, n int) bool {
	s.space()
	if s.data[s.i] == end {
		s.i++
		return false
	}
	if n > 0 {
		s.i++ // ,
		s.space()
	}
	return true
}

func (s *scanner) array(items *shape) *fault {
	s.i++ // [
	for n := 0; ; n++ {
		if !s.more(']', n) {
			return nil
		}
		if f := s.value(items); f != nil {
			return f.at(strconv.Itoa(n))
		}
		s.space()
	}
}

func (s *scanner) object(sh *shape) *fault {
	s.i++ // {
	var small [smallObject][]byte
	seen, set := small[:0], map[string]struct{}(nil)
	for n := 0; ; n++ {
		if !s.more('}', n) {
			return nil
		}
		name, nul := s.name()
		if nul {
			return &fault{path: []string{string(name)}, detail: nulDetail}
		}
		if set == nil && len(seen) == smallObject {
			set = make(map[string]struct{}, 4*smallObject)
			for _, m := range seen {
				set[string(m)] = struct{}{}
			}
		}
		dup := false
		if set != nil {
			_, dup = set[string(name)]
			set[string(name)] = struct{}{}
		} else {
			dup = slices.ContainsFunc(seen, func(m []byte) bool { return bytes.Equal(m, name) })
			seen = append(seen, name)
		}
		if dup {
			return &fault{path: []string{string(name)}, detail: "the member appears more than once in its object"}
		}
		child, variantOf := sh.member(name)
		if variantOf != "" {
			return &fault{path: []string{string(name)}, detail: strconv.Quote(string(name)) +
				" is not a member of this object; member names are case-sensitive (did you mean " + strconv.Quote(variantOf) + "?)"}
		}
		s.space()
		s.i++ // :
		s.space()
		if f := s.value(child); f != nil {
			return f.at(string(name))
		}
		s.space()
	}
}

// smallObject is how many members are checked for duplicates by a linear search before a map
// takes over.
const smallObject = 16

// str moves past the string at s.i and returns its raw content, whether it holds escapes and
// whether one of them is \u0000 (a raw NUL byte is not valid JSON).
func (s *scanner) str() (raw []byte, escaped, nul bool) {
	start := s.i + 1
	j := start
	for {
		switch s.data[j] {
		case '"':
			s.i = j + 1
			return s.data[start:j], escaped, nul
		case '\\':
			escaped = true
			if s.data[j+1] == 'u' && string(s.data[j+2:j+6]) == "0000" {
				nul = true
			}
			j += 2
		default:
			j++
		}
	}
}

// name reads a member name as encoding/json decodes it: escapes resolved and invalid UTF-8
// replaced, which only the rare name that needs it pays for.
func (s *scanner) name() (name []byte, nul bool) {
	start := s.i
	raw, escaped, nul := s.str()
	if !escaped && utf8.Valid(raw) {
		return raw, false
	}
	var decoded string
	_ = json.Unmarshal(s.data[start:s.i], &decoded) // valid JSON: cannot fail
	return []byte(decoded), nul
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(s string) string { return pointerEscaper.Replace(s) }

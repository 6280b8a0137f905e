package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// frame is one open object or array of the body being scanned.
type frame struct {
	shape   *shape
	object  bool
	wantKey bool   // object: the next token is a member name
	name    string // object: the member being read
	child   *shape // the shape of the member or element being read
	index   int    // array: the element being read
	// seen holds the member names met so far; names switches to set past a handful.
	seen []string
	set  map[string]struct{}
}

// smallObject is how many members are checked for duplicates by a linear search before a map
// takes over.
const smallObject = 16

// scanJSON walks body once, token by token, and returns the first member or value the guard
// refuses. A body that is not JSON passes: the validator answers it as it always has.
func scanJSON(body []byte, root *shape) *apperr.FieldError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers stay text: no float parsing, no overflow errors
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // a syntax error: the validator's to report
		}
		n := len(stack)
		if n > 0 && stack[n-1].object && stack[n-1].wantKey {
			f := &stack[n-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				if done(&stack) {
					return trailing(dec)
				}
				continue
			}
			if fe := f.member(tok.(string), stack); fe != nil {
				return fe
			}
			continue
		}
		at := root
		if n > 0 {
			at = stack[n-1].child
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				stack = push(stack, at, v == '{')
				continue
			default: // ']'
				stack = stack[:n-1]
			}
		case string:
			if hasNUL(v) {
				return &apperr.FieldError{Location: apperr.InBody, Pointer: pointer(stack, ""), Detail: nulDetail}
			}
		}
		if done(&stack) {
			return trailing(dec)
		}
	}
}

// member checks the name of the next member of the object f, the top of stack.
func (f *frame) member(name string, stack []frame) *apperr.FieldError {
	if hasNUL(name) {
		return &apperr.FieldError{Location: apperr.InBody, Pointer: pointer(stack, name), Detail: nulDetail}
	}
	if f.duplicate(name) {
		return &apperr.FieldError{Location: apperr.InBody, Pointer: pointer(stack, name),
			Detail: "the member appears more than once in its object"}
	}
	child, variantOf := f.shape.member(name)
	if variantOf != "" {
		return &apperr.FieldError{Location: apperr.InBody, Pointer: pointer(stack, name),
			Detail: strconv.Quote(name) + " is not a member of this object; member names are case-sensitive (did you mean " + strconv.Quote(variantOf) + "?)"}
	}
	f.name, f.child, f.wantKey = name, child, false
	return nil
}

// duplicate records name and reports whether the object had it already.
func (f *frame) duplicate(name string) bool {
	if f.set != nil {
		if _, ok := f.set[name]; ok {
			return true
		}
		f.set[name] = struct{}{}
		return false
	}
	for _, s := range f.seen {
		if s == name {
			return true
		}
	}
	if len(f.seen) < smallObject {
		f.seen = append(f.seen, name)
		return false
	}
	f.set = make(map[string]struct{}, 2*smallObject)
	for _, s := range f.seen {
		f.set[s] = struct{}{}
	}
	f.set[name] = struct{}{}
	return false
}

// push opens an object or array, reusing the frame's storage from earlier siblings.
func push(stack []frame, at *shape, object bool) []frame {
	if len(stack) < cap(stack) {
		stack = stack[:len(stack)+1]
	} else {
		stack = append(stack, frame{})
	}
	f := &stack[len(stack)-1]
	seen := f.seen[:0]
	*f = frame{shape: at, object: object, wantKey: object, seen: seen}
	if !object {
		f.child = at.elements()
	}
	return stack
}

// done moves past the value just read and reports whether it was the whole body's.
func done(stack *[]frame) bool {
	n := len(*stack)
	if n == 0 {
		return true
	}
	f := &(*stack)[n-1]
	if f.object {
		f.wantKey = true
	} else {
		f.index++
	}
	return false
}

// trailing refuses anything but white space after the body's value: the validator and the
// binder would each read only the first value.
func trailing(dec *json.Decoder) *apperr.FieldError {
	if _, err := dec.Token(); err == io.EOF {
		return nil
	}
	return &apperr.FieldError{Location: apperr.InBody, Pointer: "", Detail: "the body must hold exactly one JSON value; data follows it"}
}

// pointer is the JSON pointer (RFC 6901) of the value being read, with name appended when not
// empty (a member name of the innermost object, whose frame then waits for a name).
func pointer(stack []frame, name string) string {
	var b strings.Builder
	for _, f := range stack {
		switch {
		case !f.object:
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(f.index))
		case !f.wantKey:
			b.WriteByte('/')
			b.WriteString(escapePointer(f.name))
		}
	}
	if name != "" {
		b.WriteByte('/')
		b.WriteString(escapePointer(name))
	}
	return b.String()
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(s string) string { return pointerEscaper.Replace(s) }

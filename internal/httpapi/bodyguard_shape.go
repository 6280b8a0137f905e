package httpapi

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// shape is what the body guard knows of the JSON value at one place of a body: the member names
// its schema declares — every allOf/oneOf/anyOf branch together, since the binder may decode
// any of them — and the shapes below. A nil *shape declares nothing: only duplicates and NUL are
// checked there.
type shape struct {
	props  map[string]*shape // declared member → its shape
	folded map[string]string // foldName(declared member) → declared member
	extra  *shape            // undeclared members (additionalProperties)
	items  *shape            // array elements
}

// member returns the shape of the member called name, and the declared member name folds onto
// when name itself is not declared but a case variant of one (the binder would bind it there).
func (s *shape) member(name []byte) (child *shape, variantOf string) {
	if s == nil {
		return nil, ""
	}
	if child, ok := s.props[string(name)]; ok {
		return child, ""
	}
	if len(s.folded) > 0 {
		var buf [32]byte
		if declared, ok := s.folded[string(appendFolded(buf[:0], name))]; ok {
			return nil, declared
		}
	}
	return s.extra, ""
}

func (s *shape) elements() *shape {
	if s == nil {
		return nil
	}
	return s.items
}

// shapeCompiler turns schemas into shapes once, at startup. Shapes are memoised by the set of
// schemas they unite, which also ends recursion through $ref cycles.
type shapeCompiler struct {
	memo map[string]*shape
}

func newShapeCompiler() *shapeCompiler { return &shapeCompiler{memo: map[string]*shape{}} }

func (c *shapeCompiler) compile(roots []*openapi3.Schema) *shape {
	var schemas []*openapi3.Schema
	seen := map[*openapi3.Schema]bool{}
	for _, r := range roots {
		branches(r, seen, &schemas)
	}
	if len(schemas) == 0 {
		return nil
	}
	var key strings.Builder
	for _, s := range schemas {
		fmt.Fprintf(&key, "%p,", s)
	}
	if sh, ok := c.memo[key.String()]; ok {
		return sh
	}
	sh := &shape{}
	c.memo[key.String()] = sh
	props := map[string][]*openapi3.Schema{}
	var extra, items []*openapi3.Schema
	for _, s := range schemas {
		for name, p := range s.Properties {
			props[name] = appendSchema(props[name], p)
		}
		extra = appendSchema(extra, s.AdditionalProperties.Schema)
		items = appendSchema(items, s.Items)
	}
	if len(props) > 0 {
		sh.props, sh.folded = map[string]*shape{}, map[string]string{}
		for name, ps := range props {
			sh.props[name] = c.compile(ps)
			sh.folded[string(appendFolded(nil, []byte(name)))] = name
		}
	}
	sh.extra, sh.items = c.compile(extra), c.compile(items)
	return sh
}

func appendSchema(to []*openapi3.Schema, ref *openapi3.SchemaRef) []*openapi3.Schema {
	if ref == nil || ref.Value == nil {
		return to
	}
	return append(to, ref.Value)
}

// branches appends s and, recursively, every schema of its allOf, oneOf and anyOf.
func branches(s *openapi3.Schema, seen map[*openapi3.Schema]bool, out *[]*openapi3.Schema) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	*out = append(*out, s)
	for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		for _, r := range group {
			if r != nil {
				branches(r.Value, seen, out)
			}
		}
	}
}

// appendFolded appends name folded exactly as encoding/json folds member names to match them
// to fields (encoding/json/fold.go, the default build): ASCII letters to upper case, every other
// rune to the smallest rune of its Unicode simple-fold orbit — so "ſtop" (long s) and
// "max_toKens" (Kelvin sign) fold like "stop" and "max_tokens".
func appendFolded(out, name []byte) []byte {
	for i := 0; i < len(name); {
		if c := name[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(name[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune returns the smallest rune of r's simple-fold orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

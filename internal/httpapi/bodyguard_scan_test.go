package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// testShape declares max_tokens, stop, n, k, s and µ (whose fold orbits hold non-ASCII runes),
// and an object member whose own members are free.
func testShape() *shape {
	s := openapi3.NewObjectSchema().
		WithProperty("max_tokens", openapi3.NewIntegerSchema()).
		WithProperty("stop", openapi3.NewStringSchema()).
		WithProperty("n", openapi3.NewIntegerSchema()).
		WithProperty("k", openapi3.NewIntegerSchema()).
		WithProperty("s", openapi3.NewIntegerSchema()).
		WithProperty("µ", openapi3.NewIntegerSchema()).
		WithProperty("meta", openapi3.NewObjectSchema())
	return newShapeCompiler().compile([]*openapi3.Schema{s})
}

func TestScanJSON(t *testing.T) {
	t.Parallel()
	many := make([]string, 20)
	for i := range many {
		many[i] = `"k` + strings.Repeat("x", i) + `":1`
	}
	cases := []struct {
		name, body string
		pointer    string // "-" when the body passes
	}{
		{"exact names", `{"max_tokens":1,"stop":"x","n":1,"extra":{"N":1}}`, "-"},
		{"case variant", `{"Max_Tokens":1}`, "/Max_Tokens"},
		{"escaped case variant", `{"\u004e":1}`, "/N"},
		{"variant inside free object passes", `{"meta":{"MAX_TOKENS":1}}`, "-"},
		{"NUL value", `{"meta":{"a":["x","\u0000"]}}`, "/meta/a/1"},
		{"NUL name", `{"meta":{"a\u0000":1}}`, "/meta/a\x00"},
		{"escaped backslash before u0000 is no NUL", `{"stop":"\\u0000"}`, "-"},
		{"escaped backslash then NUL", `{"stop":"\\\u0000"}`, "/stop"},
		{"pointer escapes", `{"meta":{"a/b":{"c~d":"\u0000"}}}`, "/meta/a~1b/c~0d"},
		{"arrays", `[1,[2,{"x":"\u0000"}]]`, "/1/1/x"},
		{"scalar root", `"\u0000"`, ""},
		{"duplicate", `{"n":1,"n":2}`, "/n"},
		{"duplicate through an escape", `{"meta":{"a":1,"\u0061":2}}`, "/meta/a"},
		{"duplicate past the linear search", `{"meta":{` + strings.Join(many, ",") + `,"kxxx":2}}`, "/meta/kxxx"},
		{"invalid UTF-8 names decode alike", "{\"meta\":{\"\xff\":1,\"\\ufffd\":2}}", "/meta/\ufffd"},
		{"same name in sibling objects", `[{"n":1},{"n":1}]`, "-"},
		{"white space around", " \n{\"n\" : 1 , \"stop\" : \"x\"}\t\r\n", "-"},
		{"trailing value", `{"n":1} {"n":2}`, ""},
		{"trailing garbage", `{"n":1}x`, ""},
		{"malformed is the validator's", `{"n":`, "-"},
		{"empty containers", `{"meta":{},"stop":[]}`, "-"},
	}
	sh := testShape()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fe := scanJSON([]byte(tc.body), sh)
			switch {
			case tc.pointer == "-" && fe != nil:
				t.Errorf("refused at %q (%s), want it to pass", fe.Pointer, fe.Detail)
			case tc.pointer != "-" && fe == nil:
				t.Errorf("passed, want it refused at %q", tc.pointer)
			case fe != nil && fe.Pointer != tc.pointer:
				t.Errorf("refused at %q (%s), want %q", fe.Pointer, fe.Detail, tc.pointer)
			}
		})
	}
}

// boundByEncodingJSON mirrors testShape as the binder sees it.
type boundByEncodingJSON struct {
	MaxTokens *int `json:"max_tokens"`
	Stop      *int `json:"stop"`
	N         *int `json:"n"`
	K         *int `json:"k"`
	S         *int `json:"s"`
	Mu        *int `json:"µ"`
	Meta      *int `json:"meta"`
}

// foldAgrees checks that a name the guard lets through binds exactly where the validator
// looked: encoding/json binds it to a field only when the guard found it declared, and every
// name it binds otherwise the guard refuses as a variant.
func foldAgrees(t *testing.T, sh *shape, name string) {
	body, err := json.Marshal(map[string]int{name: 1})
	if err != nil {
		return
	}
	var decoded map[string]int
	if err := json.Unmarshal(body, &decoded); err != nil || len(decoded) != 1 {
		t.Fatalf("round trip of %q: %v", name, err)
	}
	for k := range decoded {
		name = k // as the server sees it (invalid UTF-8 replaced)
	}
	var b boundByEncodingJSON
	_ = json.Unmarshal(body, &b)
	binds := b.MaxTokens != nil || b.Stop != nil || b.N != nil || b.K != nil || b.S != nil || b.Mu != nil || b.Meta != nil
	_, declared := sh.props[name]
	_, variantOf := sh.member([]byte(name))
	if binds != (declared || variantOf != "") {
		t.Errorf("%q: encoding/json binds it %v, guard: declared %v, variant of %q", name, binds, declared, variantOf)
	}
}

// TestFoldAgreesWithEncodingJSONForEveryFoldingRune tries every rune that has case variants,
// alone and inside a declared name.
func TestFoldAgreesWithEncodingJSONForEveryFoldingRune(t *testing.T) {
	t.Parallel()
	sh := testShape()
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if unicode.SimpleFold(r) == r && r >= utf8.RuneSelf {
			continue
		}
		foldAgrees(t, sh, string(r))
		foldAgrees(t, sh, "max_to"+string(r)+"ens")
		foldAgrees(t, sh, "sto"+string(r))
	}
}

// FuzzFoldAgreesWithEncodingJSON is foldAgrees for any name.
func FuzzFoldAgreesWithEncodingJSON(f *testing.F) {
	for _, seed := range []string{"max_tokens", "MAX_TOKENS", "max_to\u212aens", "\u017ftop", "N", "n", "ñ", "Ñ", "stoP", "st\u00f6p", "\u00b5", "\u039c", "x", "\xff"} {
		f.Add(seed)
	}
	sh := testShape()
	f.Fuzz(func(t *testing.T, name string) { foldAgrees(t, sh, name) })
}

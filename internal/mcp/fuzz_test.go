package mcp

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// FuzzToolSchema validates arbitrary arguments against arbitrary tool input schemas, as an MCP
// server (which the backend does not trust) may declare them. Validation never panics and is
// stable (the cached schema answers as the fresh one); it passes only JSON objects; a schema
// that is not JSON Schema is the server's fault (502), never the caller's; and a refusal
// points under /arguments with a well-formed JSON pointer.
func FuzzToolSchema(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`, `{"city":"Oslo"}`},
		{`{"type":"object","properties":{"a/b~c":{"type":"integer","minimum":3}}}`, `{"a/b~c":1}`},
		{`{"type":"object","required":["x"]}`, `{}`},
		{`{"$ref":"https://169.254.169.254/latest/meta-data"}`, `{}`},
		{`{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}`, `{}`},
		{`{"type":"object","properties":{"s":{"type":"string","pattern":"(a+)+$","format":"email"}}}`, `{"s":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}`},
		{`{"oneOf":[{"type":"object"},{"required":["a"]}]}`, `{"a":1}`},
		{`true`, `{}`},
		{`false`, `{}`},
		{``, `[]`},
		{`{"type":"nonsense"}`, `{"a":null}`},
		{`{"items":{"$dynamicRef":"#x"}}`, `{"a":[1,2]}`},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	cache := newSchemaCache()
	f.Fuzz(func(t *testing.T, schema, args []byte) {
		err := newSchemaCache().validate(schema, args)
		if again := cache.validate(schema, args); (again == nil) != (err == nil) {
			t.Fatalf("cached validation %v, fresh %v", again, err)
		}
		if err == nil {
			// Numbers as json.Number: 1e309 is valid JSON (forwarded to the server and stored as
			// jsonb as written) though it overflows a float64.
			var obj map[string]any
			dec := json.NewDecoder(bytes.NewReader(args))
			dec.UseNumber()
			if !json.Valid(args) || dec.Decode(&obj) != nil || obj == nil {
				t.Fatalf("arguments %q passed but are not a JSON object", args)
			}
			return
		}
		ae, ok := apperr.As(err)
		if !ok {
			t.Fatalf("error %T %v is not an application error", err, err)
		}
		switch ae.Kind {
		case apperr.BadGateway:
			if ae.Code != CodeProtocolError {
				t.Fatalf("502 with code %q", ae.Code)
			}
		case apperr.Invalid:
			if len(ae.Fields) != 1 {
				t.Fatalf("%d fields", len(ae.Fields))
			}
			checkPointer(t, ae.Fields[0].Pointer)
		default:
			t.Fatalf("error kind %v: %v", ae.Kind, err)
		}
	})
}

// checkPointer: p is /arguments followed by RFC 6901 tokens (~ only as ~0 or ~1).
func checkPointer(t *testing.T, p string) {
	t.Helper()
	rest, ok := strings.CutPrefix(p, "/arguments")
	if !ok || (rest != "" && rest[0] != '/') {
		t.Fatalf("pointer %q is not under /arguments", p)
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] == '~' && (i+1 == len(rest) || (rest[i+1] != '0' && rest[i+1] != '1')) {
			t.Fatalf("pointer %q has a bare ~", p)
		}
	}
}

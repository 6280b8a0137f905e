package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
)

// The chat body is validated by kin-openapi's schema visitor without "as a request" work
// (validator_body.go). These tests hold that shortcut to what kin-openapi's ValidateRequest
// answers for the same request, over every kind of constraint ChatCompletionRequest declares.

var chatBodyCases = []struct {
	name, body string
	valid      bool
}{
	{"typical", chatBenchBody, true},
	{"minimal", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, true},
	{"content parts", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA==","detail":"low"}},{"type":"file","file":{"file_id":"6f1c1d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"}}]}]}`, true},
	{"nulls where nullable", `{"model":"m","max_tokens":null,"temperature":null,"stream_options":null,"metadata":null,"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, true},
	{"stop as a list, tool choice named", `{"model":"m","stop":["a","b"],"tool_choice":{"type":"function","function":{"name":"f"}},"metadata":{"k":"v"},"messages":[{"role":"user","content":"hi"}]}`, true},
	{"unknown members are accepted", `{"model":"m","logprobs":true,"messages":[{"role":"user","content":"hi","x":1}]}`, true},
	{"model missing (required)", `{"messages":[{"role":"user","content":"hi"}]}`, false},
	{"messages empty (minItems)", `{"model":"m","messages":[]}`, false},
	{"model empty (minLength)", `{"model":"","messages":[{"role":"user","content":"hi"}]}`, false},
	{"model a number (type)", `{"model":7,"messages":[{"role":"user","content":"hi"}]}`, false},
	{"role unknown (enum)", `{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, false},
	{"temperature above its maximum", `{"model":"m","temperature":2.5,"messages":[{"role":"user","content":"hi"}]}`, false},
	{"max_tokens a fraction (integer)", `{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}`, false},
	{"n above its maximum", `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`, false},
	{"stop with five sequences (oneOf)", `{"model":"m","stop":["a","b","c","d","e"],"messages":[{"role":"user","content":"hi"}]}`, false},
	{"content a number (oneOf)", `{"model":"m","messages":[{"role":"user","content":5}]}`, false},
	{"content part of unknown type (oneOf, enum)", `{"model":"m","messages":[{"role":"user","content":[{"type":"audio"}]}]}`, false},
	{"image part without url (oneOf, required)", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, false},
	// kin-openapi defines no uuid format, so neither path checks one (the handlers parse ids).
	{"file id not a uuid (format undefined)", `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"x"}}]}]}`, true},
	{"tool name against its pattern", `{"model":"m","tools":[{"type":"function","function":{"name":"a b"}}],"messages":[{"role":"user","content":"hi"}]}`, false},
	{"tool choice unknown (oneOf)", `{"model":"m","tool_choice":"always","messages":[{"role":"user","content":"hi"}]}`, false},
	{"metadata value not a string (additionalProperties)", `{"model":"m","metadata":{"k":1},"messages":[{"role":"user","content":"hi"}]}`, false},
	{"user too long (maxLength)", `{"model":"m","user":"` + strings.Repeat("u", 257) + `","messages":[{"role":"user","content":"hi"}]}`, false},
	{"stream not a boolean (type)", `{"model":"m","stream":"yes","messages":[{"role":"user","content":"hi"}]}`, false},
	{"too many mcp servers (maxItems)", `{"model":"m","mcp_servers":[` + strings.Repeat(`"6f1c1d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f",`, 32) + `"6f1c1d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"],"messages":[{"role":"user","content":"hi"}]}`, false},
	{"not an object", `[1]`, false},
	{"not JSON", `{"model":`, false},
	{"empty body (required)", ``, false},
}

func TestChatBodyShortcutAnswersAsValidateRequest(t *testing.T) {
	routes := testRoutes(t)
	options := &openapi3filter.Options{AuthenticationFunc: acceptAll}
	route := routes.static["POST /v1/chat/completions"]
	mt := routes.plainBodies[route.Operation]
	if mt == nil {
		t.Fatal("the chat body does not take the shortcut")
	}
	for _, contentType := range []string{"application/json", "Application/JSON; charset=utf-8"} {
		for _, tc := range chatBodyCases {
			t.Run(contentType+"/"+tc.name, func(t *testing.T) {
				// The shortcut alone: it shows exactly the valid bodies valid.
				input := &openapi3filter.RequestValidationInput{Request: chatRequest(tc.body, contentType), Route: route, Options: options}
				if ok, err := validBody(input, mt); ok != tc.valid || err != nil {
					t.Errorf("validBody = %v, %v; want %v", ok, err, tc.valid)
				}
				// The validator with the shortcut against ValidateRequest without it: the same
				// answer, the same problem, the same body left for the handler.
				c, _ := routedContext(chatRequest(tc.body, contentType), "/v1/chat/completions")
				got := routes.validate(c, options)
				ref := chatRequest(tc.body, contentType)
				want := validatorAnswer(openapi3filter.ValidateRequest(context.Background(),
					&openapi3filter.RequestValidationInput{Request: ref, Route: route, Options: options}))
				if (got == nil) != tc.valid || (want == nil) != tc.valid {
					t.Fatalf("validate = %v, ValidateRequest = %v; want valid %v", got, want, tc.valid)
				}
				if got != nil {
					gp, wp := classify(got), classify(want)
					if got.Error() != want.Error() || gp.Kind != wp.Kind || gp.Code != wp.Code || gp.Detail != wp.Detail || !slices.Equal(gp.Fields, wp.Fields) {
						t.Errorf("validate = %v %+v,\nValidateRequest = %v %+v", got, gp.Fields, want, wp.Fields)
					}
				}
				gotBody, _ := io.ReadAll(c.Request().Body)
				wantBody, _ := io.ReadAll(ref.Body)
				if string(gotBody) != string(wantBody) || string(gotBody) != tc.body {
					t.Errorf("body left for the handler = %q, want %q", gotBody, tc.body)
				}
			})
		}
	}
}

// A schema that declares a default or a readOnly member anywhere, even in one oneOf branch, is
// validated by ValidateRequest (which fills defaults in and refuses readOnly members).
func TestPlainJSONBodiesLeaveOutDefaultsAndReadOnly(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromData([]byte(`
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /plain:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {a: {type: string}}}}}}
      responses: {"204": {description: ok}}
  /default:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {a: {oneOf: [{type: string}, {type: object, properties: {b: {type: integer, default: 1}}}]}}}}}}
      responses: {"204": {description: ok}}
  /readonly:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {a: {type: array, items: {type: object, properties: {id: {type: string, readOnly: true}}}}}}}}}
      responses: {"204": {description: ok}}
  /form:
    post:
      requestBody: {content: {application/x-www-form-urlencoded: {schema: {type: object}}}}
      responses: {"204": {description: ok}}
`))
	if err != nil {
		t.Fatal(err)
	}
	plain := plainJSONBodies(spec)
	for path, want := range map[string]bool{"/plain": true, "/default": false, "/readonly": false, "/form": false} {
		if _, got := plain[spec.Paths.Value(path).Post]; got != want {
			t.Errorf("%s takes the shortcut: %v, want %v", path, got, want)
		}
	}
}

// A body over the limit is refused as too large on the shortcut too, not validated truncated
// (through the validator the security check reads the body first, so validBody is asked alone).
func TestChatBodyShortcutKeepsTheBodyLimit(t *testing.T) {
	routes := testRoutes(t)
	route := routes.static["POST /v1/chat/completions"]
	for _, viaValidate := range []bool{false, true} {
		req := chatRequest(chatBenchBody, "application/json")
		req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, 64)
		options := &openapi3filter.Options{AuthenticationFunc: acceptAll}
		var err error
		if viaValidate {
			c, _ := routedContext(req, "/v1/chat/completions")
			err = routes.validate(c, options)
		} else {
			_, err = validBody(&openapi3filter.RequestValidationInput{Request: req, Route: route, Options: options}, routes.plainBodies[route.Operation])
		}
		if p := classify(err); err == nil || p.Code != "payload_too_large" {
			t.Errorf("validate %v: %v, want payload_too_large", viaValidate, err)
		}
	}
}

// A body of up to overlapBodyBytes is read before the security check and checked beside it; a
// larger one is read after it. Either way a refused caller gets the security check's answer,
// not the body's, and an accepted one the answer ValidateRequest gives.
func TestBodyCheckedBesideSecurityAnswersAfterIt(t *testing.T) {
	routes := testRoutes(t)
	route := routes.static["POST /v1/chat/completions"]
	pad := func(n int) string { return strings.Repeat("x", n) }
	small, big := overlapBodyBytes/2, overlapBodyBytes*2
	for _, tc := range []struct {
		name, body string
		valid      bool
		early      bool // read before the security check
	}{
		{"small valid", `{"model":"m","messages":[{"role":"user","content":"` + pad(small) + `"}]}`, true, true},
		{"small invalid", `{"model":"m","temperature":9,"messages":[{"role":"user","content":"` + pad(small) + `"}]}`, false, true},
		{"large valid", `{"model":"m","messages":[{"role":"user","content":"` + pad(big) + `"}]}`, true, false},
		{"large invalid", `{"model":"m","temperature":9,"messages":[{"role":"user","content":"` + pad(big) + `"}]}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused := &echo.HTTPError{Code: http.StatusUnauthorized, Message: "refused"}
			var readEarly bool
			options := &openapi3filter.Options{AuthenticationFunc: func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
				readEarly = echoContextOf(ctx).Request().GetBody != nil
				return refused
			}}
			c, _ := routedContext(chatRequest(tc.body, "application/json"), "/v1/chat/completions")
			if err := routes.validate(c, options); err != refused {
				t.Errorf("a refused caller got %v, want the security check's refusal", err)
			}
			if readEarly != tc.early {
				t.Errorf("body read before the security check: %v, want %v", readEarly, tc.early)
			}

			options = &openapi3filter.Options{AuthenticationFunc: acceptAll}
			c, _ = routedContext(chatRequest(tc.body, "application/json"), "/v1/chat/completions")
			got := routes.validate(c, options)
			want := validatorAnswer(openapi3filter.ValidateRequest(context.Background(),
				&openapi3filter.RequestValidationInput{Request: chatRequest(tc.body, "application/json"), Route: route, Options: options}))
			if (got == nil) != tc.valid || (want == nil) != tc.valid || (got != nil && got.Error() != want.Error()) {
				t.Fatalf("validate = %v, ValidateRequest = %v; want valid %v", got, want, tc.valid)
			}
			if left, _ := io.ReadAll(c.Request().Body); string(left) != tc.body {
				t.Errorf("the handler is left %d bytes, want the %d-byte body", len(left), len(tc.body))
			}
		})
	}
}

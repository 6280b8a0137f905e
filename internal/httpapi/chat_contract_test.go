package httpapi_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestChatOpenAIToolRoundTripBody sends the body OpenAI documents for a tool-calling round trip
// (user, then the assistant's tool call with "content": null, then the tool's result): it is
// answered normally, and Anthropic receives tool_use and tool_result blocks.
func TestChatOpenAIToolRoundTripBody(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	env.fake.Enqueue(llmtest.TextStream("msg_rt", chatModel, "It is 14°C in Paris."))
	body := `{
	  "model": "` + chatModel + `",
	  "messages": [
	    {"role": "user", "content": "What's the weather like in Paris today?"},
	    {"role": "assistant", "content": null, "tool_calls": [
	      {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\": \"Paris, France\"}"}}
	    ]},
	    {"role": "tool", "tool_call_id": "call_abc123", "content": "14°C and cloudy"}
	  ],
	  "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather",
	    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]
	}`
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer())
	c := decodeInto[api.ChatCompletion](t, resp, raw, http.StatusOK)
	if len(c.Choices) != 1 || c.Choices[0].Message.Content == nil || *c.Choices[0].Message.Content != "It is 14°C in Paris." {
		t.Fatalf("completion %s", raw)
	}
	var up struct {
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Type      string          `json:"type"`
				ID        string          `json:"id"`
				Name      string          `json:"name"`
				Input     json.RawMessage `json:"input"`
				ToolUseID string          `json:"tool_use_id"`
			} `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(env.fake.LastRequest().Raw, &up); err != nil || len(up.Messages) != 3 {
		t.Fatalf("upstream messages %s (%v)", env.fake.LastRequest().Raw, err)
	}
	use, result := up.Messages[1], up.Messages[2]
	if use.Role != "assistant" || len(use.Content) != 1 || use.Content[0].Type != "tool_use" || use.Content[0].ID != "call_abc123" ||
		use.Content[0].Name != "get_weather" || !strings.Contains(string(use.Content[0].Input), `"Paris, France"`) {
		t.Errorf("tool_use turn %+v", use)
	}
	if result.Role != "user" || len(result.Content) != 1 || result.Content[0].Type != "tool_result" || result.Content[0].ToolUseID != "call_abc123" {
		t.Errorf("tool_result turn %+v", result)
	}
}

// TestChatWireTypesMatchTheSchemas: the chat schemas are decoded into and encoded from the chat
// package's own types (x-go-type), so nothing converts them; this proves each such type has
// exactly the JSON members its schema declares, nested objects included — a property renamed or
// added in the spec fails here instead of being silently dropped.
func TestChatWireTypesMatchTheSchemas(t *testing.T) {
	schemas := testutil.LoadContract(t).Doc.Components.Schemas
	types := map[string]reflect.Type{
		"ChatCompletionRequest": reflect.TypeFor[api.ChatCompletionRequest](),
		"ChatMessage":           reflect.TypeFor[api.ChatMessage](),
		"ChatTool":              reflect.TypeFor[api.ChatTool](),
		"ChatToolCall":          reflect.TypeFor[api.ChatToolCall](),
		"ChatCompletion":        reflect.TypeFor[api.ChatCompletion](),
		"ChatChoice":            reflect.TypeFor[api.ChatChoice](),
		"ChatUsage":             reflect.TypeFor[api.ChatUsage](),
		"ChatCost":              reflect.TypeFor[api.ChatCost](),
		"ChatSessionError":      reflect.TypeFor[api.ChatSessionError](),
		"ChatCompletionChunk":   reflect.TypeFor[api.ChatCompletionChunk](),
		"ChatChunkChoice":       reflect.TypeFor[api.ChatChunkChoice](),
		"ChatDelta":             reflect.TypeFor[api.ChatDelta](),
		"ChatToolCallDelta":     reflect.TypeFor[api.ChatToolCallDelta](),
		"ChatToolEvent":         reflect.TypeFor[api.ChatToolEvent](),
	}
	for name, ref := range schemas {
		if _, mapped := ref.Value.Extensions["x-go-type"]; mapped && types[name] == nil {
			t.Errorf("schema %s is mapped to a Go type this test does not check", name)
		}
	}
	for name, typ := range types {
		if typ.PkgPath() != "github.com/ccbackend/ccbackend/internal/chat" {
			t.Errorf("api.%s is %s, not the chat package's type (x-go-type)", name, typ)
		}
		sameMembers(t, name, schemas[name], typ)
	}
}

// sameMembers compares an object schema's properties with the JSON members of a struct type,
// recursing into inline objects and array items (a $ref is checked under its own name).
func sameMembers(t *testing.T, at string, ref *openapi3.SchemaRef, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
	}
	if ref == nil || ref.Value == nil || typ.Kind() != reflect.Struct || len(ref.Value.Properties) == 0 {
		return
	}
	fields := map[string]reflect.Type{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" && f.IsExported() {
			fields[name] = f.Type
		}
	}
	var missing, extra []string
	for prop, sub := range ref.Value.Properties {
		ft, ok := fields[prop]
		if !ok {
			missing = append(missing, prop)
			continue
		}
		if sub.Ref != "" { // checked as its own schema
			continue
		}
		if items := sub.Value.Items; items != nil && items.Ref == "" {
			sameMembers(t, at+"."+prop+"[]", items, ft)
		}
		sameMembers(t, at+"."+prop, sub, ft)
	}
	for f := range fields {
		if _, ok := ref.Value.Properties[f]; !ok {
			extra = append(extra, f)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s (%s): schema properties without a Go field %v; Go fields the schema lacks %v", at, typ, missing, extra)
	}
}

package chat

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/llm"
)

// decodeRequest reads a request body as the handler hands it over (the same JSON).
func decodeRequest(t *testing.T, body string) Request {
	t.Helper()
	var r Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("test body is not a request: %v\n%s", err, body)
	}
	return r
}

func textPart(s string) llm.Part { return llm.Part{Kind: llm.Text, Text: s} }

func userTurn(parts ...llm.Part) llm.Message { return llm.Message{Role: llm.User, Parts: parts} }

func assistantTurn(parts ...llm.Part) llm.Message {
	return llm.Message{Role: llm.Assistant, Parts: parts}
}

func toolUse(id, name, input string) llm.Part {
	return llm.Part{Kind: llm.ToolUse, ToolUseID: id, ToolName: name, Input: json.RawMessage(input)}
}

func toolResult(id, s string) llm.Part { return llm.Part{Kind: llm.ToolResult, ToolUseID: id, Text: s} }

const userHi = `{"role":"user","content":"hi"}`

// A few bytes of base64 that decode; the service checks the encoding, not the picture.
const tinyImage = "iVBORw0KGgo="

func TestToLLM(t *testing.T) {
	t.Parallel()
	half := 0.5
	cases := []struct {
		name string
		body string
		want llm.Request
	}{
		{
			name: "system and developer messages join into the system prompt",
			body: `{"messages":[{"role":"system","content":"Be brief."},
				{"role":"developer","content":[{"type":"text","text":"Use "},{"type":"text","text":"metric."}]},` + userHi + `]}`,
			want: llm.Request{System: "Be brief.\n\nUse metric.", Messages: []llm.Message{userTurn(textPart("hi"))}},
		},
		{
			name: "a system message between turns still goes to the system prompt",
			body: `{"messages":[` + userHi + `,{"role":"system","content":"Late rule."},{"role":"user","content":"again"}]}`,
			want: llm.Request{System: "Late rule.", Messages: []llm.Message{userTurn(textPart("hi"), textPart("again"))}},
		},
		{
			name: "consecutive user turns merge into one",
			body: `{"messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"},{"type":"text","text":"c"}]}]}`,
			want: llm.Request{Messages: []llm.Message{userTurn(textPart("a"), textPart("b"), textPart("c"))}},
		},
		{
			name: "assistant tool calls, tool results and the next user turn",
			body: `{"messages":[{"role":"user","content":"Weather?"},
				{"role":"assistant","content":"Let me check.","tool_calls":[
					{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
					{"id":"call_2","type":"function","function":{"name":"now","arguments":""}}]},
				{"role":"tool","tool_call_id":"call_1","content":"sunny"},
				{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"noon"}]},
				{"role":"user","content":"Thanks"}]}`,
			want: llm.Request{Messages: []llm.Message{
				userTurn(textPart("Weather?")),
				assistantTurn(textPart("Let me check."), toolUse("call_1", "get_weather", `{"city":"Paris"}`), toolUse("call_2", "now", `{}`)),
				userTurn(toolResult("call_1", "sunny"), toolResult("call_2", "noon"), textPart("Thanks")),
			}},
		},
		{
			name: "assistant with null content and only a tool call",
			body: `{"messages":[` + userHi + `,{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c","content":"done"}]}`,
			want: llm.Request{Messages: []llm.Message{
				userTurn(textPart("hi")), assistantTurn(toolUse("c", "f", `{}`)), userTurn(toolResult("c", "done")),
			}},
		},
		{
			name: "consecutive assistant turns merge",
			body: `{"messages":[` + userHi + `,{"role":"assistant","content":"one"},{"role":"assistant","content":"two"}]}`,
			want: llm.Request{Messages: []llm.Message{userTurn(textPart("hi")), assistantTurn(textPart("one"), textPart("two"))}},
		},
		{
			name: "data URL images of every supported type",
			body: `{"messages":[{"role":"user","content":[{"type":"text","text":"compare"},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,` + tinyImage + `"}},
				{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,` + tinyImage + `"}},
				{"type":"image_url","image_url":{"url":"data:image/gif;base64,` + tinyImage + `"}},
				{"type":"image_url","image_url":{"url":"data:image/webp;base64,` + tinyImage + `"}}]}]}`,
			want: llm.Request{Messages: []llm.Message{userTurn(textPart("compare"),
				llm.Part{Kind: llm.Image, MediaType: "image/png", Data: tinyImage},
				llm.Part{Kind: llm.Image, MediaType: "image/jpeg", Data: tinyImage},
				llm.Part{Kind: llm.Image, MediaType: "image/gif", Data: tinyImage},
				llm.Part{Kind: llm.Image, MediaType: "image/webp", Data: tinyImage})}},
		},
		{
			name: "sampling settings and the end user pass through",
			body: `{"temperature":0.5,"top_p":0.5,"user":"end-user-7","messages":[` + userHi + `]}`,
			want: llm.Request{Temperature: &half, TopP: &half, User: "end-user-7", Messages: []llm.Message{userTurn(textPart("hi"))}},
		},
		{
			name: "stop as a string",
			body: `{"stop":"END","messages":[` + userHi + `]}`,
			want: llm.Request{Stop: []string{"END"}, Messages: []llm.Message{userTurn(textPart("hi"))}},
		},
		{
			name: "stop as a list",
			body: `{"stop":["END","\n\n"],"messages":[` + userHi + `]}`,
			want: llm.Request{Stop: []string{"END", "\n\n"}, Messages: []llm.Message{userTurn(textPart("hi"))}},
		},
		{
			name: "stop null",
			body: `{"stop":null,"messages":[` + userHi + `]}`,
			want: llm.Request{Messages: []llm.Message{userTurn(textPart("hi"))}},
		},
		{
			name: "a streamed request is streamed upstream",
			body: `{"stream":true,"messages":[` + userHi + `]}`,
			want: llm.Request{Messages: []llm.Message{userTurn(textPart("hi"))}},
		},
		{
			name: "tools, with an empty object schema when parameters are missing",
			body: `{"messages":[` + userHi + `],"tools":[
				{"type":"function","function":{"name":"get_weather","description":"Weather by city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
				{"type":"function","function":{"name":"now"}}]}`,
			want: llm.Request{Messages: []llm.Message{userTurn(textPart("hi"))}, Tools: []llm.Tool{
				{Name: "get_weather", Description: "Weather by city", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
				{Name: "now", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)},
			}},
		},
	}
	for _, tc := range cases {
		// The client collects these answers whole, so the upstream need not stream them.
		tc.want.NoStream = !strings.Contains(tc.body, `"stream":true`)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := toLLM(decodeRequest(t, tc.body), nil)
			if err != nil {
				t.Fatalf("toLLM: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("toLLM =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestToLLMToolChoice(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		choice   string // the tool_choice member, or "" for none
		parallel string // the parallel_tool_calls member, or "" for none
		want     *llm.ToolChoice
	}{
		{name: "neither: the provider default", want: nil},
		{name: "parallel calls allowed: the provider default", parallel: `true`, want: nil},
		{name: "none", choice: `"none"`, want: &llm.ToolChoice{Mode: llm.ToolChoiceNone}},
		{name: "auto", choice: `"auto"`, want: &llm.ToolChoice{Mode: llm.ToolChoiceAuto}},
		{name: "required", choice: `"required"`, want: &llm.ToolChoice{Mode: llm.ToolChoiceRequired}},
		{name: "named", choice: `{"type":"function","function":{"name":"get_weather"}}`,
			want: &llm.ToolChoice{Mode: llm.ToolChoiceNamed, Name: "get_weather"}},
		{name: "no parallel calls alone means auto", parallel: `false`,
			want: &llm.ToolChoice{Mode: llm.ToolChoiceAuto, DisableParallel: true}},
		{name: "required without parallel calls", choice: `"required"`, parallel: `false`,
			want: &llm.ToolChoice{Mode: llm.ToolChoiceRequired, DisableParallel: true}},
		{name: "named without parallel calls", choice: `{"type":"function","function":{"name":"f"}}`, parallel: `false`,
			want: &llm.ToolChoice{Mode: llm.ToolChoiceNamed, Name: "f", DisableParallel: true}},
		{name: "null tool_choice", choice: `null`, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := `{"messages":[` + userHi + `],"tools":[{"type":"function","function":{"name":"f"}}]`
			if tc.choice != "" {
				body += `,"tool_choice":` + tc.choice
			}
			if tc.parallel != "" {
				body += `,"parallel_tool_calls":` + tc.parallel
			}
			got, err := toLLM(decodeRequest(t, body+"}"), nil)
			if err != nil {
				t.Fatalf("toLLM: %v", err)
			}
			if !reflect.DeepEqual(got.ToolChoice, tc.want) {
				t.Errorf("tool choice = %+v, want %+v", got.ToolChoice, tc.want)
			}
		})
	}
}

func TestToLLMRejects(t *testing.T) {
	t.Parallel()
	image := func(url string) string {
		return `{"messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"` + url + `"}}]}]}`
	}
	const imagePointer = "/messages/0/content/1/image_url/url"
	cases := []struct {
		name, body, pointer string
	}{
		{"no messages", `{"messages":[]}`, "/messages"},
		{"messages missing", `{}`, "/messages"},
		{"only a system prompt", `{"messages":[{"role":"system","content":"rules"}]}`, "/messages"},
		{"remote image URL", image("https://example.com/cat.png"), imagePointer},
		{"http image URL", image("http://example.com/cat.png"), imagePointer},
		{"bad base64", image("data:image/png;base64,not*base64!"), imagePointer},
		{"unknown media type", image("data:image/bmp;base64," + tinyImage), imagePointer},
		{"not an image", image("data:text/plain;base64," + tinyImage), imagePointer},
		{"data URL without base64", image("data:image/png,rawbytes"), imagePointer},
		{"data URL without data", image("data:image/png;base64"), imagePointer},
		{"image part without image_url", `{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, "/messages/0/content/0/image_url/url"},
		{"unsupported part type", `{"messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "/messages/0/content/0/type"},
		{"empty content list", `{"messages":[{"role":"user","content":[]}]}`, "/messages/0/content"},
		{"content of the wrong type", `{"messages":[{"role":"user","content":42}]}`, "/messages/0/content"},
		{"image in a system prompt", `{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + tinyImage + `"}}]},` + userHi + `]}`, "/messages/0/content"},
		{"unknown role", `{"messages":[{"role":"function","content":"x"}]}`, "/messages/0/role"},
		{"tool message without tool_call_id", `{"messages":[` + userHi + `,{"role":"tool","content":"x"}]}`, "/messages/1/tool_call_id"},
		{"assistant with neither content nor tool calls", `{"messages":[` + userHi + `,{"role":"assistant","content":""}]}`, "/messages/1/content"},
		{"tool arguments not JSON", `{"messages":[` + userHi + `,{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{nope"}}]}]}`, "/messages/1/tool_calls/0/function/arguments"},
		{"tool arguments not an object", `{"messages":[` + userHi + `,{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "/messages/1/tool_calls/1/function/arguments"},
		{"stop of the wrong type", `{"stop":7,"messages":[` + userHi + `]}`, "/stop"},
		{"stop list of the wrong type", `{"stop":["a",7],"messages":[` + userHi + `]}`, "/stop"},
		{"unknown tool_choice word", `{"tool_choice":"sometimes","messages":[` + userHi + `]}`, "/tool_choice"},
		{"named tool_choice without a name", `{"tool_choice":{"type":"function","function":{}},"messages":[` + userHi + `]}`, "/tool_choice"},
		{"tool_choice of the wrong type", `{"tool_choice":3,"messages":[` + userHi + `]}`, "/tool_choice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := toLLM(decodeRequest(t, tc.body), nil)
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.Invalid {
				t.Fatalf("toLLM error = %v, want an Invalid application error", err)
			}
			if len(ae.Fields) != 1 || ae.Fields[0].Pointer != tc.pointer || ae.Fields[0].Location != apperr.InBody {
				t.Errorf("fields = %+v, want one at %s in the body", ae.Fields, tc.pointer)
			}
		})
	}
}

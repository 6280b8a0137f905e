package llm

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The body built on our own structs decodes to the same JSON as the SDK's encoding of the same
// request (anthropic_sdkbody_test.go), for every kind of content and option we send, and both
// refuse the same bad requests.
func TestAnthropicBodyMatchesTheSDK(t *testing.T) {
	temp, topP := 0.3, 0.9
	user := func(parts ...Part) Message { return Message{Role: User, Parts: parts} }
	text := func(s string) Part { return Part{Kind: Text, Text: s} }
	schema := json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","enum":["Paris","Oslo"]},"n":{"type":"integer","maximum":12345678901234}},"required":["city",3],"$defs":{"x":{"type":"number"}},"additionalProperties":false,"":1}`)
	cases := map[string]Request{
		"minimal":           {Model: "m", Messages: []Message{user(text("x"))}},
		"not streamed":      {Model: "m", NoStream: true, Messages: []Message{user(text("x"))}},
		"system and limits": {Model: "m", System: "Be brief.", MaxTokens: 99, Stop: []string{"\n\nHuman:", "END"}, Messages: []Message{user(text("q"))}},
		"sampling":          {Model: "m", Temperature: &temp, TopP: &topP, Messages: []Message{user(text("q"))}},
		"metadata":          {Model: "m", User: "user-123", Messages: []Message{user(text("q"))}},
		"escaping":          {Model: "m", Messages: []Message{user(text("<b>&\"\\\u2028 é 😀\x01"))}},
		"empty text":        {Model: "m", Messages: []Message{user(text(""))}},
		"no messages":       {Model: "m"},
		"attachments": {Model: "m", Messages: []Message{user(text("see"),
			Part{Kind: Image, MediaType: "image/png", Data: "iVBORw0KGgo="},
			Part{Kind: Document, MediaType: "application/pdf", Data: "JVBERi0=", Title: "a.pdf"},
			Part{Kind: Document, MediaType: "text/plain", Data: "plain text", Title: "notes.txt"},
			Part{Kind: Document, MediaType: "text/plain", Data: "untitled"})}},
		"tool turns": {Model: "m", Messages: []Message{user(text("weather?")),
			{Role: Assistant, Parts: []Part{text("Let me check."), Part{Kind: ToolUse, ToolUseID: "toolu_1", ToolName: "weather", Input: json.RawMessage(`{"city":"Paris","deep":{"a":[1,2.5,null]}}`)},
				Part{Kind: ToolUse, ToolUseID: "toolu_2", ToolName: "now"}}},
			user(Part{Kind: ToolResult, ToolUseID: "toolu_1", Text: "sunny"}, Part{Kind: ToolResult, ToolUseID: "toolu_2", Text: "boom", IsError: true})}},
		"tools": {Model: "m", Messages: []Message{user(text("q"))}, Tools: []Tool{
			{Name: "weather", Description: "Weather by city", Parameters: schema},
			{Name: "now"},
			{Name: "null schema", Parameters: json.RawMessage(`null`)},
			{Name: "odd schema", Parameters: json.RawMessage(`{"properties":null,"required":"city"}`)},
		}},
	}
	for mode, tc := range map[string]ToolChoice{
		"auto": {}, "auto-serial": {Mode: ToolChoiceAuto, DisableParallel: true}, "none": {Mode: ToolChoiceNone, DisableParallel: true},
		"any": {Mode: ToolChoiceRequired}, "any-serial": {Mode: ToolChoiceRequired, DisableParallel: true},
		"named": {Mode: ToolChoiceNamed, Name: "weather"}, "named-serial": {Mode: ToolChoiceNamed, Name: "weather", DisableParallel: true},
	} {
		r := cases["tools"]
		r.ToolChoice = &tc
		cases["tool_choice "+mode] = r
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			ours, err := anthropicBody(req)
			if err != nil {
				t.Fatal(err)
			}
			params, err := anthropicParams(req)
			if err != nil {
				t.Fatal(err)
			}
			sdk, err := json.Marshal(params)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(ours, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(sdk, &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("bodies differ\n ours: %s\n  sdk: %s", ours, sdk)
			}
		})
	}
	for name, req := range map[string]Request{
		"unknown role":      {Model: "m", Messages: []Message{{Role: "system", Parts: []Part{text("x")}}}},
		"unknown kind":      {Model: "m", Messages: []Message{user(Part{Kind: "audio"})}},
		"document type":     {Model: "m", Messages: []Message{user(Part{Kind: Document, MediaType: "image/gif"})}},
		"tool input":        {Model: "m", Messages: []Message{{Role: Assistant, Parts: []Part{{Kind: ToolUse, ToolUseID: "t", Input: json.RawMessage(`{`)}}}}},
		"schema not object": {Model: "m", Tools: []Tool{{Name: "t", Parameters: json.RawMessage(`[1]`)}}},
		"schema not json":   {Model: "m", Tools: []Tool{{Name: "t", Parameters: json.RawMessage(`{`)}}},
	} {
		_, ours := anthropicBody(req)
		_, sdk := anthropicParams(req)
		if ours == nil || sdk == nil {
			t.Errorf("%s: ours %v, sdk %v; want both refused", name, ours, sdk)
		}
	}
}

// BenchmarkAnthropicBody compares building a chat-sized request body both ways.
func BenchmarkAnthropicBody(b *testing.B) {
	req := Request{Model: "claude-sonnet-4-5", System: "Be brief.", MaxTokens: 1024, User: "u",
		Tools: []Tool{{Name: "weather", Description: "Weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}}
	for i := range 6 {
		role := User
		if i%2 == 1 {
			role = Assistant
		}
		req.Messages = append(req.Messages, Message{Role: role, Parts: []Part{{Kind: Text, Text: "Count to twenty, slowly, and explain each number."}}})
	}
	b.Run("own", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := anthropicBody(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := anthropicParams(req)
			if _, err := json.Marshal(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

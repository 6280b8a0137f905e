package chat

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	apispec "github.com/ccbackend/ccbackend/api"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/llm"
)

var chatRequestSchema = sync.OnceValues(func() (*openapi3.Schema, error) {
	doc, err := openapi3.NewLoader().LoadFromData(apispec.YAML)
	if err != nil {
		return nil, err
	}
	return doc.Components.Schemas["ChatCompletionRequest"].Value, nil
})

// FuzzChatTranslation translates arbitrary OpenAI chat requests to the Anthropic Messages body.
// A request is either refused as a 400 that points into the body, or becomes a conversation
// the Messages API can take: turns alternate, every tool message became a tool result, and, for
// a request the contract admits, the Anthropic encoding succeeds with the same turns, system
// prompt and "stream": true (a request that passed validation must never fail upstream
// translation as a 500).
func FuzzChatTranslation(f *testing.F) {
	for _, seed := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"x"}]},{"role":"user","content":"hi"}],"stop":["a","b"],"temperature":0.5}`,
		`{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}}}],"tool_choice":"required","parallel_tool_calls":false}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"text","text":"what?"}]}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ccb-file://00000000-0000-0000-0000-000000000001"}}]}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"nope"}}]}]}`,
		`{"model":"m","messages":[{"role":"assistant","content":"first"},{"role":"assistant","content":"second"},{"role":"user","content":""}]}`,
		`{"model":"m","messages":[{"role":"tool","content":"x"}],"stop":7}`,
		`{"model":"m","messages":[{"role":"wizard","content":"x"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}`,
		`{"model":"m","messages":[]}`,
	} {
		f.Add([]byte(seed))
	}
	anthropic := llm.NewAnthropic("sk-fuzz", "http://127.0.0.1:1", nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req Request
		if json.Unmarshal(body, &req) != nil {
			return
		}
		out, err := toLLM(req, nil)
		if err != nil {
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.Invalid || len(ae.Fields) == 0 {
				t.Fatalf("toLLM error %v, want a 400 pointing at a field", err)
			}
			for _, fe := range ae.Fields {
				if fe.Location != apperr.InBody || !strings.HasPrefix(fe.Pointer, "/") {
					t.Fatalf("field error %+v does not point into the body", fe)
				}
			}
			return
		}
		tools := 0
		for _, m := range req.Messages {
			if m.Role == "tool" {
				tools++
			}
		}
		results := 0
		for i, m := range out.Messages {
			if i > 0 && out.Messages[i-1].Role == m.Role {
				t.Fatalf("turns %d and %d are both %s", i-1, i, m.Role)
			}
			if len(m.Parts) == 0 {
				t.Fatalf("turn %d has no parts", i)
			}
			for _, p := range m.Parts {
				if p.Kind == llm.ToolResult {
					results++
				}
				if p.Kind == llm.ToolUse && !json.Valid(p.Input) {
					t.Fatalf("tool use input %q is not JSON", p.Input)
				}
			}
		}
		if len(out.Messages) == 0 || results != tools {
			t.Fatalf("%d turns, %d tool results for %d tool messages", len(out.Messages), results, tools)
		}
		if out.ToolChoice != nil && len(out.Tools) == 0 {
			t.Fatal("a tool choice without tools")
		}

		schema, err := chatRequestSchema()
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if json.Unmarshal(body, &doc) != nil || schema.VisitJSON(doc) != nil {
			return // the validator refuses it before toLLM sees it
		}
		wire, err := anthropic.Describe(out)
		if err != nil {
			t.Fatalf("a request the contract admits fails the Anthropic translation: %v\n%s", err, body)
		}
		var got struct {
			Stream   bool `json:"stream"`
			Messages []struct {
				Role string `json:"role"`
			} `json:"messages"`
			System []struct {
				Text string `json:"text"`
			} `json:"system"`
		}
		if err := json.Unmarshal(wire, &got); err != nil {
			t.Fatalf("Anthropic body is not JSON: %v", err)
		}
		if got.Stream == out.NoStream || len(got.Messages) != len(out.Messages) {
			t.Fatalf("Anthropic body %s does not carry the %d turns streamed", wire, len(out.Messages))
		}
		for i, m := range got.Messages {
			if m.Role != string(out.Messages[i].Role) {
				t.Fatalf("turn %d: role %q, want %q", i, m.Role, out.Messages[i].Role)
			}
		}
		if out.System != "" && (len(got.System) != 1 || got.System[0].Text != strings.ToValidUTF8(out.System, "\uFFFD")) {
			t.Fatalf("system %+v, want %q", got.System, out.System)
		}
	})
}

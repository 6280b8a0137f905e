package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// The model asks for server-everything's echo; the backend calls the real server, sends the
// real output back as a tool_result, and streams the final answer, with ccb_tool chunks for the
// call; the session holds every step, the tool-calls list and the audit log the execution.
func TestChatMCPToolLoopStreams(t *testing.T) {
	t.Parallel()
	env := newMCPChatEnv(t, func(*testutil.Config) {})
	sess := env.sessionWithTools(t)
	env.fake.Enqueue(
		llmtest.ToolUseStream("msg_m1", chatModel, "toolu_e1", "everything__echo", `{"message":`, ` "hello loop"}`),
		llmtest.TextStream("msg_m2", chatModel, "The server ", "echoed it."))
	body := `{"model":"` + chatModel + `","stream":true,"stream_options":{"include_usage":true},"session_id":"` + sess.Id.String() +
		`","messages":[{"role":"user","content":"echo hello loop"}]}`
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer())
	events := streamEvents(t, resp, raw)

	reqs := env.fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d upstream requests, want 2", len(reqs))
	}
	if !strings.Contains(string(reqs[0].Raw), `"name":"everything__echo"`) {
		t.Errorf("the first request does not offer the MCP tool: %s", reqs[0].Raw)
	}
	result, ok := toolResults(t, reqs[1].Raw)["toolu_e1"]
	if !ok || result.IsError || !strings.Contains(result.Text, "Echo: hello loop") {
		t.Errorf("second upstream request's tool_result %+v (from %s)", result, reqs[1].Raw)
	}
	tools := toolChunks(t, events)
	if len(tools) != 2 || tools[0].Type != "tool_use" || tools[0].Name != "echo" || tools[0].Server != env.server.Id.String() ||
		!strings.Contains(string(tools[0].Input), "hello loop") || tools[1].Type != "tool_result" || tools[1].ID != "toolu_e1" ||
		tools[1].IsError == nil || *tools[1].IsError || len(tools[1].Content) != 1 || !strings.Contains(string(tools[1].Content[0]), "Echo: hello loop") {
		t.Errorf("ccb_tool chunks %+v", tools)
	}
	var text strings.Builder
	var finishes []string
	var usage *api.ChatUsage
	for _, data := range events {
		if strings.Contains(data, "everything__echo") {
			t.Errorf("the client saw the backend tool as a tool call: %s", data)
		}
		c := decodeChunk(t, data)
		if c.Usage != nil {
			usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				text.WriteString(*ch.Delta.Content)
			}
			if ch.FinishReason != nil {
				finishes = append(finishes, *ch.FinishReason)
			}
		}
	}
	if text.String() != "Let me check.The server echoed it." || strings.Join(finishes, ",") != "stop" {
		t.Errorf("streamed text %q, finish reasons %v", text.String(), finishes)
	}
	// Each step reports 12 input tokens; the tool step 20 output tokens, the answer 3.
	if usage == nil || usage.PromptTokens != 24 || usage.CompletionTokens != 23 {
		t.Errorf("usage %+v, want the sum of both steps (24 prompt, 23 completion)", usage)
	}

	msgs := env.messages(t, sess.Id.String())
	roles := make([]string, len(msgs))
	for i, m := range msgs {
		roles[i] = string(m.Role)
	}
	if strings.Join(roles, ",") != "user,assistant,tool,assistant" {
		t.Fatalf("stored roles %v", roles)
	}
	if calls, _ := msgs[1].Metadata["tool_calls"].([]any); len(calls) != 1 || msgs[2].Metadata["tool_call_id"] != "toolu_e1" ||
		!strings.Contains(contentText(msgs[2]), "Echo: hello loop") || contentText(msgs[3]) != "The server echoed it." {
		t.Errorf("stored steps %+v", msgs)
	}
	list := env.toolCalls(t, sess.Id.String())
	if len(list) != 1 || list[0].Tool != "echo" || list[0].Status != "completed" || list[0].IsError || list[0].ServerId != env.server.Id ||
		list[0].Arguments["message"] != "hello loop" {
		t.Errorf("tool calls %+v", list)
	}
	audited := auditedToolCalls(t, env.s)
	if len(audited) != 1 || !strings.Contains(audited[0], `"tool": "echo"`) || !strings.Contains(audited[0], `"status": "completed"`) ||
		strings.Contains(audited[0], "hello loop") {
		t.Errorf("audit %v (one entry, never the arguments)", audited)
	}
}

// The official OpenAI SDK streams through a two-step loop (get-sum) without error, and the
// same loop answered without streaming gives the final message with the steps' usage summed.
func TestChatMCPOpenAISDKStreamsTheLoop(t *testing.T) {
	t.Parallel()
	env := newMCPChatEnv(t, func(*testutil.Config) {})
	named := option.WithJSONSet("mcp_servers", []string{env.server.Id.String()})
	params := openai.ChatCompletionNewParams{Model: chatModel,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("what is 2+3?")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}}
	env.fake.Enqueue(
		llmtest.ToolUseStream("msg_s1", chatModel, "toolu_s1", "everything__get-sum", `{"a": 2, "b": 3}`),
		llmtest.TextStream("msg_s2", chatModel, "It is ", "5."))
	stream := env.client.Chat.Completions.NewStreaming(t.Context(), params, named)
	acc := openai.ChatCompletionAccumulator{}
	var extension int
	for stream.Next() {
		c := stream.Current()
		if strings.Contains(c.RawJSON(), `"ccb_tool"`) {
			extension++
		}
		acc.AddChunk(c)
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("the SDK failed on the loop's stream: %v", err)
	}
	if extension != 2 || acc.Choices[0].Message.Content != "Let me check.It is 5." || acc.Choices[0].FinishReason != "stop" ||
		len(acc.Choices[0].Message.ToolCalls) != 0 || acc.Usage.PromptTokens != 24 {
		t.Errorf("%d ccb_tool chunks; accumulated %+v usage %+v", extension, acc.Choices[0], acc.Usage)
	}
	if r := toolResults(t, env.fake.LastRequest().Raw)["toolu_s1"]; !strings.Contains(r.Text, "5") || r.IsError {
		t.Errorf("tool_result %+v", r)
	}

	env.fake.Enqueue(
		llmtest.ToolUseStream("msg_s3", chatModel, "toolu_s2", "everything__get-sum", `{"a": 40, "b": 2}`),
		llmtest.TextStream("msg_s4", chatModel, "42."))
	res, err := env.client.Chat.Completions.New(t.Context(), params, named)
	if err != nil {
		t.Fatal(err)
	}
	if res.Choices[0].Message.Content != "Let me check.42." || res.Choices[0].FinishReason != "stop" || len(res.Choices[0].Message.ToolCalls) != 0 ||
		res.Usage.PromptTokens != 24 || res.Usage.CompletionTokens != 22 {
		t.Errorf("completion %+v usage %+v", res.Choices[0], res.Usage)
	}
	if r := toolResults(t, env.fake.LastRequest().Raw)["toolu_s2"]; !strings.Contains(r.Text, "42") {
		t.Errorf("tool_result %+v", r)
	}
	// Without a session the calls are audited off the answer's path: wait for them.
	n := 0
	for deadline := time.Now().Add(5 * time.Second); n != 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n = len(auditedToolCalls(t, env.s))
	}
	if n != 2 {
		t.Errorf("%d audited calls without a session, want 2", n)
	}
}

package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// With CCB_MCP_MAX_STEPS=2 a model that keeps asking for tools gets two upstream requests: the
// first call runs, the second is neither run nor returned, and the turn ends with "length".
func TestChatMCPStepLimit(t *testing.T) {
	t.Parallel()
	env := newMCPChatEnv(t, func(c *testutil.Config) { c.MCP.MaxSteps = 2 })
	sess := env.sessionWithTools(t)
	env.fake.Enqueue(
		llmtest.ToolUseStream("msg_l1", chatModel, "toolu_l1", "everything__echo", `{"message":"one"}`),
		llmtest.ToolUseStream("msg_l2", chatModel, "toolu_l2", "everything__echo", `{"message":"two"}`))
	body := `{"model":"` + chatModel + `","session_id":"` + sess.Id.String() + `","messages":[{"role":"user","content":"loop forever"}]}`
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer())
	c := decodeInto[api.ChatCompletion](t, resp, raw, http.StatusOK)
	if c.Choices[0].FinishReason != "length" || len(c.Choices[0].Message.ToolCalls) != 0 || c.Choices[0].Message.Content == nil ||
		*c.Choices[0].Message.Content != "Let me check.Let me check." {
		t.Errorf("completion %s", raw)
	}
	if n := len(env.fake.Requests()); n != 2 {
		t.Errorf("%d upstream requests, want 2 (the step limit)", n)
	}
	if list := env.toolCalls(t, sess.Id.String()); len(list) != 1 || list[0].Arguments["message"] != "one" {
		t.Errorf("tool calls %+v: only the first call runs", list)
	}
	msgs := env.messages(t, sess.Id.String())
	if len(msgs) != 4 || msgs[3].Role != "assistant" || msgs[3].Metadata["finish_reason"] != "length" || msgs[3].Metadata["tool_calls"] != nil {
		t.Errorf("stored %+v: the last step without its unexecuted call", msgs)
	}
}

// A call the tool's schema refuses and one that times out both become is_error results for the
// model; the turn still completes.
func TestChatMCPToolErrorsAreResults(t *testing.T) {
	t.Parallel()
	env := newMCPChatEnv(t, func(c *testutil.Config) { c.MCP.CallTimeout = time.Second })
	sess := env.sessionWithTools(t)
	env.fake.Enqueue(
		llmtest.ToolUseStream("msg_f1", chatModel, "toolu_bad", "everything__get-sum", `{"a":"two","b":3}`),
		llmtest.ToolUseStream("msg_f2", chatModel, "toolu_slow", "everything__trigger-long-running-operation", `{"duration":20,"steps":20}`),
		llmtest.TextStream("msg_f3", chatModel, "Both failed."))
	body := `{"model":"` + chatModel + `","stream":true,"session_id":"` + sess.Id.String() + `","messages":[{"role":"user","content":"try"}]}`
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer())
	events := streamEvents(t, resp, raw)
	if last := decodeChunk(t, events[len(events)-1]); len(last.Choices) != 1 || last.Choices[0].FinishReason == nil || *last.Choices[0].FinishReason != "stop" {
		t.Errorf("the turn did not complete: %s", raw)
	}
	reqs := env.fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d upstream requests, want 3", len(reqs))
	}
	if r := toolResults(t, reqs[1].Raw)["toolu_bad"]; !r.IsError || !strings.Contains(r.Text, "failed") {
		t.Errorf("schema error result %+v", r)
	}
	if r := toolResults(t, reqs[2].Raw)["toolu_slow"]; !r.IsError || !strings.Contains(r.Text, "in time") {
		t.Errorf("timeout result %+v", r)
	}
	var errs int
	for _, e := range toolChunks(t, events) {
		if e.Type == "tool_result" && e.IsError != nil && *e.IsError {
			errs++
		}
	}
	list := env.toolCalls(t, sess.Id.String()) // newest first
	if errs != 2 || len(list) != 2 || list[0].Status != "timeout" || list[1].Status != "failed" || !list[0].IsError || !list[1].IsError {
		t.Errorf("%d is_error chunks; tool calls %+v", errs, list)
	}
}

// Cancelling during trigger-long-running-operation (30 s) stops the loop and the MCP call: the
// call ends as cancelled, no further upstream request is sent, and the exchange is cancelled.
func TestChatMCPCancelStopsTheToolCall(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"delete", "disconnect"} {
		t.Run(how, func(t *testing.T) {
			env := newMCPChatEnv(t, func(*testutil.Config) {})
			sess := env.sessionWithTools(t)
			env.fake.Enqueue(llmtest.ToolUseStream("msg_c1", chatModel, "toolu_long", "everything__trigger-long-running-operation", `{"duration":30,"steps":30}`))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stream := env.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: chatModel,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("run long")}}, option.WithJSONSet("session_id", sess.Id.String()))
			for stream.Next() {
				if strings.Contains(stream.Current().RawJSON(), `"tool_use"`) {
					break
				}
			}
			time.Sleep(300 * time.Millisecond) // the call is in flight on the MCP server by now
			if how == "delete" {
				resp, raw := env.s.Do(t, http.MethodDelete, "/v1/chat/completions/"+sess.Id.String(), nil, env.user.Bearer())
				if st := decodeInto[map[string]any](t, resp, raw, http.StatusOK); st["cancelled"] != true {
					t.Fatalf("cancel %s", raw)
				}
			} else {
				cancel()
			}
			for stream.Next() {
			}
			var list []api.MCPToolCall
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if list = env.toolCalls(t, sess.Id.String()); len(list) > 0 {
					break
				}
			}
			if len(list) != 1 || list[0].Status != "cancelled" || !list[0].IsError {
				t.Fatalf("tool calls %+v, want one cancelled", list)
			}
			t.Logf("the cancelled call ran %d ms of its 30 s", list[0].DurationMs)
			if n := len(env.fake.Requests()); n != 1 {
				t.Errorf("%d upstream requests after the cancel, want 1", n)
			}
			var status string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && status != "cancelled"; time.Sleep(20 * time.Millisecond) {
				_ = env.s.App.Store.Pool.QueryRow(context.Background(), "SELECT status FROM usage_events ORDER BY id DESC LIMIT 1").Scan(&status)
			}
			if status != "cancelled" {
				t.Errorf("usage event status %q, want cancelled", status)
			}
		})
	}
}

// One step calls an MCP tool and a client tool: the MCP call runs, the client's comes back as
// its only tool call; its result sent with the session's history gives the model both results.
func TestChatMCPMixedTurn(t *testing.T) {
	t.Parallel()
	env := newMCPChatEnv(t, func(*testutil.Config) {})
	sess := env.sessionWithTools(t)
	env.fake.Enqueue(llmtest.NewScript("msg_x1", chatModel, llmtest.DefaultUsage).
		ToolUse("toolu_mcp", "everything__echo", `{"message":"mixed"}`).
		ToolUse("toolu_client", "get_weather", `{"city":"Paris"}`).
		Stop("tool_use", "", 30))
	tools := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})}
	inSession := option.WithJSONSet("session_id", sess.Id.String())
	stream := env.client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: chatModel, Tools: tools,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("echo and weather")}}, inSession)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if acc.Choices[0].FinishReason != "tool_calls" || len(calls) != 1 || calls[0].ID != "toolu_client" || calls[0].Function.Name != "get_weather" ||
		calls[0].Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("accumulated %+v", acc.Choices[0])
	}
	if list := env.toolCalls(t, sess.Id.String()); len(list) != 1 || list[0].Tool != "echo" || list[0].Status != "completed" {
		t.Errorf("tool calls %+v", list)
	}
	env.fake.Enqueue(llmtest.TextStream("msg_x2", chatModel, "Sunny, and the echo said mixed."))
	res, err := env.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: chatModel, Tools: tools,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.ToolMessage(`{"sky":"clear"}`, "toolu_client")}},
		inSession, option.WithJSONSet("use_session_history", true))
	if err != nil || res.Choices[0].FinishReason != "stop" {
		t.Fatalf("follow-up %v %+v", err, res)
	}
	results := toolResults(t, env.fake.LastRequest().Raw)
	if !strings.Contains(results["toolu_mcp"].Text, "Echo: mixed") || !strings.Contains(results["toolu_client"].Text, "clear") {
		t.Errorf("follow-up tool results %+v", results)
	}
}

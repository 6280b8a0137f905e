package httpapi_test

import (
	"context"
	"encoding/json"
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

const chatModel = "claude-sonnet-4-5"

type chatEnv struct {
	s      *testutil.Server
	fake   *llmtest.FakeAnthropic
	user   testutil.Session
	client openai.Client
}

// newChatEnv runs the service against a fake Anthropic upstream and returns an unmodified
// OpenAI SDK client pointed at it, authenticated with an access token.
func newChatEnv(t *testing.T) chatEnv { return newChatEnvWith(t, func(*testutil.Config) {}) }

// newChatEnvWith is newChatEnv with more settings changed by adjust.
func newChatEnvWith(t *testing.T, adjust func(*testutil.Config)) chatEnv {
	t.Helper()
	fake := llmtest.NewFakeAnthropic(t)
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = fake.URL, "sk-ant-test-secret"
		c.LLMRetryBase = time.Millisecond
		adjust(c)
	}))
	u := s.Register(t, "chat-"+strings.ReplaceAll(t.Name(), "/", "-")+"@example.com")
	client := openai.NewClient(option.WithBaseURL(s.URL+"/v1"), option.WithAPIKey(u.AccessToken),
		option.WithHTTPClient(s.Client.HTTP), option.WithMaxRetries(0))
	return chatEnv{s: s, fake: fake, user: u, client: client}
}

func TestChatNonStreaming(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	env.fake.Enqueue(llmtest.TextStream("msg_1", chatModel, "Hello", ", world"))
	res, err := env.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: chatModel,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be brief."), openai.UserMessage("Say hello"),
		},
		Stop: openai.ChatCompletionNewParamsStopUnion{OfString: openai.String("END")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 1 || res.Choices[0].Message.Content != "Hello, world" || res.Choices[0].FinishReason != "stop" {
		t.Fatalf("completion = %+v", res)
	}
	if res.Object != "chat.completion" || res.Usage.TotalTokens == 0 || res.Usage.TotalTokens != res.Usage.PromptTokens+res.Usage.CompletionTokens {
		t.Errorf("usage = %+v", res.Usage)
	}
	got := env.fake.LastRequest()
	system, _ := json.Marshal(got.Body["system"])
	if string(system) != `[{"text":"Be brief.","type":"text"}]` || got.Body["stream"] != false || got.Body["model"] != chatModel {
		t.Errorf("upstream body = %s", got.Raw)
	}
	if seqs, _ := got.Body["stop_sequences"].([]any); len(seqs) != 1 || seqs[0] != "END" {
		t.Errorf("stop_sequences = %v", got.Body["stop_sequences"])
	}
	// The SDK sends the key as x-api-key or as a bearer token, depending on its version.
	if got.Header.Get("X-Api-Key") != "sk-ant-test-secret" && got.Header.Get("Authorization") != "Bearer sk-ant-test-secret" {
		t.Errorf("upstream credentials: %v", got.Header)
	}
}

func TestChatStreamingWithUsage(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	env.fake.Enqueue(llmtest.TextStream("msg_2", chatModel, "one ", "two ", "three"))
	stream := env.client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:         chatModel,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	acc := openai.ChatCompletionAccumulator{}
	var chunks, roleFirst int
	for stream.Next() {
		c := stream.Current()
		if chunks == 0 && len(c.Choices) == 1 && c.Choices[0].Delta.Role == "assistant" {
			roleFirst++
		}
		chunks++
		acc.AddChunk(c)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if roleFirst != 1 || chunks < 5 {
		t.Errorf("%d chunks, role first: %d", chunks, roleFirst)
	}
	if acc.Choices[0].Message.Content != "one two three" || acc.Choices[0].FinishReason != "stop" || acc.Usage.TotalTokens == 0 {
		t.Errorf("accumulated %+v usage %+v", acc.Choices[0], acc.Usage)
	}
}

func TestChatToolCallRoundTrip(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	env.fake.Enqueue(llmtest.ToolUseStream("msg_3", chatModel, "toolu_1", "get_weather", `{"city":`, ` "Paris"}`))
	tools := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather", Description: openai.String("Weather by city"),
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	})}
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")}
	res, err := env.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: chatModel, Messages: msgs, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	choice := res.Choices[0]
	if choice.FinishReason != "tool_calls" || len(choice.Message.ToolCalls) != 1 {
		t.Fatalf("choice = %+v", choice)
	}
	call := choice.Message.ToolCalls[0]
	// Not streamed, the upstream sends the input as a JSON object, which arrives compacted.
	if call.ID != "toolu_1" || call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("tool call = %+v", call)
	}
	// Send the result back: the upstream must see tool_use and tool_result blocks.
	env.fake.Enqueue(llmtest.TextStream("msg_4", chatModel, "Sunny."))
	msgs = append(msgs, choice.Message.ToParam(), openai.ToolMessage(`{"sky":"clear"}`, call.ID))
	res, err = env.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: chatModel, Messages: msgs, Tools: tools})
	if err != nil || res.Choices[0].Message.Content != "Sunny." {
		t.Fatalf("second turn: %v %+v", err, res)
	}
	raw := string(env.fake.LastRequest().Raw)
	for _, want := range []string{`"type":"tool_use"`, `"id":"toolu_1"`, `"type":"tool_result"`, `"tool_use_id":"toolu_1"`, `"name":"get_weather"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("upstream request lacks %s: %s", want, raw)
		}
	}
}

func TestChatStopReasonsAndErrors(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	ask := func() (*openai.ChatCompletion, error) {
		return env.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: chatModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	}
	env.fake.Enqueue(llmtest.MaxTokensStream("msg_5", chatModel, "cut sh"))
	if res, err := ask(); err != nil || res.Choices[0].FinishReason != "length" {
		t.Errorf("max_tokens → %v %v", err, res)
	}
	// Overloaded once: retried before anything reached the client.
	env.fake.Enqueue(llmtest.Overloaded529(), llmtest.TextStream("msg_6", chatModel, "ok"))
	if res, err := ask(); err != nil || res.Choices[0].Message.Content != "ok" {
		t.Errorf("529 then success → %v %v", err, res)
	}
	// Overloaded every time: a 503 problem, without the upstream's words or key.
	for i := 0; i < 10; i++ {
		env.fake.Enqueue(llmtest.Overloaded529())
	}
	resp, body := env.s.Do(t, http.MethodPost, "/v1/chat/completions", `{"model":"`+chatModel+`","messages":[{"role":"user","content":"hi"}]}`, env.user.Bearer())
	p := decodeProblem(t, resp, body, http.StatusServiceUnavailable)
	if p.Code != "upstream_overloaded" || strings.Contains(string(body), "sk-ant") || strings.Contains(string(body), "Overloaded") {
		t.Errorf("problem %s", body)
	}
	cases := []struct {
		name, body string
		status     int
		pointer    string
	}{
		{"n other than 1", `{"model":"` + chatModel + `","n":2,"messages":[{"role":"user","content":"x"}]}`, 400, "/n"},
		{"unknown model", `{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}`, 404, "/model"},
		{"no messages", `{"model":"` + chatModel + `","messages":[]}`, 400, "/messages"},
		{"remote image", `{"model":"` + chatModel + `","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, 400, "/messages/0/content/0/image_url/url"},
		{"bad tool arguments", `{"model":"` + chatModel + `","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{nope"}}]}]}`, 400, "/messages/1/tool_calls/0/function/arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.s.Do(t, http.MethodPost, "/v1/chat/completions", tc.body, env.user.Bearer())
			p := decodeProblem(t, resp, body, tc.status)
			if firstPointer(p) != tc.pointer {
				t.Errorf("errors %+v, want %s", p.Errors, tc.pointer)
			}
		})
	}
}

func TestChatMidStreamErrorEndsTheStream(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	env.fake.Enqueue(llmtest.ErrorMidStream("msg_7", chatModel, "partial "))
	stream := env.client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model: chatModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var text strings.Builder
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
	}
	if stream.Err() == nil || text.String() != "partial " {
		t.Errorf("stream err %v, text %q", stream.Err(), text.String())
	}
}

func TestChatPersistsIntoSession(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	sess := newSession(t, env.s, env.user, `{"title":"chat"}`)
	env.fake.Enqueue(llmtest.TextStream("msg_8", chatModel, "first answer"))
	body := `{"model":"` + chatModel + `","session_id":"` + sess.Id.String() + `","messages":[{"role":"user","content":"first question"}]}`
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer())
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"session_id":"`+sess.Id.String()) || !strings.Contains(string(raw), `"cost":{`) {
		t.Fatalf("completion %d %s", resp.StatusCode, raw)
	}
	// The next turn asks for the stored history: the upstream sees both earlier messages.
	env.fake.Enqueue(llmtest.TextStream("msg_9", chatModel, "second answer"))
	body = `{"model":"` + chatModel + `","session_id":"` + sess.Id.String() + `","use_session_history":true,"messages":[{"role":"user","content":"second question"}]}`
	if resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("second %d %s", resp.StatusCode, raw)
	}
	up := string(env.fake.LastRequest().Raw)
	for _, want := range []string{"first question", "first answer", "second question"} {
		if !strings.Contains(up, want) {
			t.Errorf("history not sent upstream: %s lacks %q", up, want)
		}
	}
	resp, raw = env.s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String()+"/messages", nil, env.user.Bearer())
	p := decodeInto[api.MessageList](t, resp, raw, http.StatusOK)
	if len(p.Data) != 4 || p.Data[1].Role != "assistant" || p.Data[3].Role != "assistant" {
		t.Fatalf("stored messages %s", raw)
	}
	resp, raw = env.s.Do(t, http.MethodGet, "/v1/chat/completions/"+sess.Id.String()+"/status", nil, env.user.Bearer())
	st := decodeInto[map[string]any](t, resp, raw, http.StatusOK)
	if st["is_running"] != false || st["message_count"] != float64(4) || st["total_tokens"].(float64) <= 0 || st["total_cost"].(float64) <= 0 {
		t.Errorf("status %s", raw)
	}
	if err := env.s.App.Chat.FlushUsage(t.Context()); err != nil { // replies do not wait for their usage rows
		t.Fatal(err)
	}
	var n int
	if err := env.s.App.Store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM usage_events WHERE status = 'completed' AND provider = 'anthropic'").Scan(&n); err != nil || n != 2 {
		t.Errorf("usage events %d (%v), want 2", n, err)
	}
	other := env.s.Register(t, "other-chat@example.com")
	resp, raw = env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, other.Bearer())
	decodeProblem(t, resp, raw, http.StatusNotFound)
}

// Cancelling through DELETE and a client disconnect both close the upstream connection within 1 s.
func TestChatCancelStopsUpstream(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"delete", "delete-on-another-instance", "disconnect"} {
		t.Run(how, func(t *testing.T) {
			env := newChatEnv(t)
			sess := newSession(t, env.s, env.user, `{}`)
			slow := llmtest.TextStream("msg_10", chatModel, "a", "b", "c", "d", "e", "f", "g", "h")
			slow.Delay, slow.HoldOpen = 300*time.Millisecond, true
			env.fake.Enqueue(slow)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stream := env.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
				Model: chatModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("go slowly")}},
				option.WithJSONSet("session_id", sess.Id.String()))
			if !stream.Next() {
				t.Fatalf("no first chunk: %v", stream.Err())
			}
			resp, raw := env.s.Do(t, http.MethodGet, "/v1/chat/completions/"+sess.Id.String()+"/status", nil, env.user.Bearer())
			if st := decodeInto[map[string]any](t, resp, raw, http.StatusOK); st["is_running"] != true {
				t.Fatalf("status while streaming %s", raw)
			}
			start := time.Now()
			if how != "disconnect" {
				target := env.s
				if how == "delete-on-another-instance" {
					target = env.s.Twin(t) // same database and Redis: the cancel travels by pub/sub
					start = time.Now()
				}
				resp, raw := target.Do(t, http.MethodDelete, "/v1/chat/completions/"+sess.Id.String(), nil, env.user.Bearer())
				if st := decodeInto[map[string]any](t, resp, raw, http.StatusOK); st["cancelled"] != true {
					t.Fatalf("cancel %s", raw)
				}
			} else {
				cancel()
			}
			select {
			case <-env.fake.ClosedEarly():
			case <-time.After(time.Second):
				t.Fatal("the upstream connection stayed open over 1 s after the cancel")
			}
			t.Logf("upstream closed %v after the cancel", time.Since(start))
			for stream.Next() {
			}
			deadline := time.Now().Add(3 * time.Second)
			for {
				var status string
				err := env.s.App.Store.Pool.QueryRow(context.Background(), "SELECT status FROM usage_events ORDER BY id DESC LIMIT 1").Scan(&status)
				if err == nil && status == "cancelled" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no cancelled usage event (last: %q, %v)", status, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestChatDebugShowsUpstreamRequest(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions/debug",
		`{"model":"`+chatModel+`","max_tokens":99,"messages":[{"role":"developer","content":"rules"},{"role":"user","content":"q"}]}`, env.user.Bearer())
	d := decodeInto[struct {
		Provider string         `json:"provider"`
		Request  map[string]any `json:"request"`
	}](t, resp, raw, http.StatusOK)
	if d.Provider != "anthropic" || !strings.Contains(string(raw), `"system":[{"text":"rules","type":"text"}]`) || d.Request["max_tokens"] != float64(99) {
		t.Errorf("debug %s", raw)
	}
	if len(env.fake.Requests()) != 0 {
		t.Error("debug sent a request upstream")
	}
}

func TestChatStreamWireFormatKeepAliveAndHeaders(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewFakeAnthropic(t)
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = fake.URL, "k"
		c.StreamKeepAlive = 40 * time.Millisecond
	}))
	u := s.Register(t, "wire@example.com")
	slow := llmtest.TextStream("msg_w", chatModel, "a", "b")
	slow.Delay = 150 * time.Millisecond
	fake.Enqueue(slow)
	resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", `{"model":"`+chatModel+`","stream":true,"messages":[{"role":"user","content":"x"}]}`,
		with(u.Bearer(), "Accept-Encoding", "gzip"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" ||
		resp.Header.Get("X-Accel-Buffering") != "no" || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("stream answer %d %v", resp.StatusCode, resp.Header)
	}
	body := string(raw)
	if !strings.Contains(body, ": keep-alive\n\n") || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("stream body lacks a keep-alive or the [DONE] end:\n%s", body)
	}
	// Every data event but [DONE] is a chat.completion.chunk of the contract.
	for _, line := range strings.Split(body, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk map[string]any
		if err := json.Unmarshal([]byte(data), &chunk); err != nil || chunk["object"] != "chat.completion.chunk" {
			t.Errorf("not a chunk: %s", data)
		}
	}
}

// A stream's response ends with [DONE], not with the upstream's body: here the upstream keeps
// its body open after its last event until its client goes away, and the response has ended
// (read to its end) while that body is still being read; reading it gives up later, in the
// background (the upstream sees its client go).
func TestChatStreamEndsWithoutWaitingForTheUpstreamsEnd(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	held := llmtest.TextStream("msg_end", chatModel, "all ", "done")
	held.HoldOpen = true
	env.fake.Enqueue(held)
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", `{"model":"`+chatModel+`","stream":true,"messages":[{"role":"user","content":"x"}]}`, env.user.Bearer())
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(string(raw), "data: [DONE]\n\n") || !strings.Contains(string(raw), `"content":"done"`) {
		t.Fatalf("stream answer %d:\n%s", resp.StatusCode, raw)
	}
	// Reading the held body gives up a second (the drain's bound) after [DONE]; waiting for it,
	// the response would have ended with it, so the upstream would see its client go at once.
	select {
	case <-env.fake.ClosedEarly():
		t.Fatal("the upstream's body was given up as the response ended: the response waited for the upstream's end")
	case <-time.After(300 * time.Millisecond):
	}
	select {
	case <-env.fake.ClosedEarly():
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream's held body was never closed")
	}
}

func TestChatTokenRateLimit(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewFakeAnthropic(t)
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = fake.URL, "k"
		c.RateLimitTokens = &testutil.RatePolicy{Limit: 1000, Period: time.Minute}
	}))
	u := s.Register(t, "tokens@example.com")
	fake.Enqueue(llmtest.TextStream("msg_t", chatModel, "ok"))
	ask := `{"model":"` + chatModel + `","max_tokens":600,"messages":[{"role":"user","content":"x"}]}`
	resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", ask, u.Bearer())
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.Join(resp.Header.Values("RateLimit-Policy"), ","), `"tokens";q=1000;w=60`) {
		t.Fatalf("first = %d %s %v", resp.StatusCode, raw, resp.Header)
	}
	// The reservation (~600) was settled to the real usage (a few dozen tokens), so a second
	// request of the same size fits again; a third reservation of 600 on top does not.
	fake.Enqueue(llmtest.TextStream("msg_t2", chatModel, "ok"))
	if resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", ask, u.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("after settling, second = %d %s", resp.StatusCode, raw)
	}
	big := `{"model":"` + chatModel + `","max_tokens":990,"messages":[{"role":"user","content":"x"}]}`
	resp, raw = s.Do(t, http.MethodPost, "/v1/chat/completions", big, u.Bearer())
	p := decodeProblem(t, resp, raw, http.StatusTooManyRequests)
	if p.Code != "token_rate_limited" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second: %s %v", raw, resp.Header)
	}
	if len(fake.Requests()) != 2 {
		t.Errorf("%d upstream requests, want 2 (a refused request reached the upstream)", len(fake.Requests()))
	}
}

package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// openStream starts a streamed completion and returns once its first event arrived; cancel
// ends it as a client going away would.
func openStream(t *testing.T, s *testutil.Server, bearer map[string]string, body string) (end func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req := s.Request(t, http.MethodPost, "/v1/chat/completions", body, bearer).WithContext(ctx)
	resp, err := s.Client.HTTP.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("stream answered %d", resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	if strings.HasPrefix(line, "id: ") && err == nil { // the event's id comes first (resumable streams)
		line, err = r.ReadString('\n')
	}
	if err != nil || !strings.HasPrefix(line, "data: ") {
		cancel()
		t.Fatalf("first line %q, %v", line, err)
	}
	return func() { cancel(); _ = resp.Body.Close() }
}

// held is a generation that lasts until its client goes away.
func held(id string) llmtest.Response {
	r := llmtest.TextStream(id, chatModel, strings.Split(strings.Repeat("word ", 200), " ")...)
	r.Delay, r.HoldOpen = 200*time.Millisecond, true
	return r
}

// TestChatConcurrentGenerationsCap: 8 generations of one user run at once, across instances; a
// 9th is refused with 429 too_many_generations and Retry-After on either instance, and once one
// ends a new one is admitted (here on the second instance).
func TestChatConcurrentGenerationsCap(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	twin := env.s.Twin(t) // same Redis: the count is shared
	streamBody := `{"model":"` + chatModel + `","stream":true,"messages":[{"role":"user","content":"talk"}]}`
	var cancels []func()
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	for i := range 8 {
		env.fake.Enqueue(held("msg_cap_" + string(rune('a'+i))))
		cancels = append(cancels, openStream(t, env.s, env.user.Bearer(), streamBody))
	}
	local := `{"model":"local-echo","messages":[{"role":"user","content":"hi"}]}`
	for name, s := range map[string]*testutil.Server{"same instance": env.s, "other instance": twin} {
		resp, raw := s.Do(t, http.MethodPost, "/v1/chat/completions", local, env.user.Bearer())
		p := decodeProblem(t, resp, raw, http.StatusTooManyRequests)
		if p.Code != "too_many_generations" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 9th generation %s, Retry-After %q", name, raw, resp.Header.Get("Retry-After"))
		}
	}
	other := env.s.Register(t, "cap-other@example.com")
	if resp, raw := twin.Do(t, http.MethodPost, "/v1/chat/completions", local, other.Bearer()); resp.StatusCode != http.StatusOK {
		t.Errorf("another user is capped too: %d %s", resp.StatusCode, raw)
	}
	cancels[0]() // one generation ends: its slot frees as soon as the server notices
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, raw := twin.Do(t, http.MethodPost, "/v1/chat/completions", local, env.user.Bearer())
		if resp.StatusCode == http.StatusOK {
			break
		}
		decodeProblem(t, resp, raw, http.StatusTooManyRequests)
		if time.Now().After(deadline) {
			t.Fatal("no generation admitted after one of the 8 ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := env.fake.Pending(); n != 0 {
		t.Errorf("%d queued upstream answers left: a refused generation reached the upstream", n)
	}
}

// TestChatRefusesWhatASessionCannotStore: asked to store the exchange, a user turn a session could
// never hold is a 400 up front — nothing sent upstream, no session created — instead of a 200
// whose turn is silently lost.
func TestChatRefusesWhatASessionCannotStore(t *testing.T) {
	t.Parallel()
	env := newChatEnvWith(t, func(c *testutil.Config) { c.MaxMessageBytes = 64 })
	sess := newSession(t, env.s, env.user, `{"title":"store"}`)
	proj := newProject(t, env.s, env.user, `{"name":"store"}`)
	big := strings.Repeat("x", 100)
	cases := []struct{ name, target, content string }{
		{"NUL in a session", `"session_id":"` + sess.Id.String() + `"`, `"a\u0000b"`},
		{"NUL in a text part", `"session_id":"` + sess.Id.String() + `"`, `[{"type":"text","text":"a\u0000b"}]`},
		{"too large for a session", `"session_id":"` + sess.Id.String() + `"`, `"` + big + `"`},
		{"NUL in a new project session", `"project_id":"` + proj.Id.String() + `"`, `"a\u0000b"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"model":"` + chatModel + `",` + tc.target + `,"messages":[{"role":"system","content":"s"},{"role":"user","content":` + tc.content + `}]}`
			resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer())
			p := decodeProblem(t, resp, raw, http.StatusBadRequest)
			if !strings.HasPrefix(firstPointer(p), "/messages/1/content") {
				t.Errorf("errors %+v, want /messages/1/content…", fieldErrors(p))
			}
		})
	}
	if n := len(env.fake.Requests()); n != 0 {
		t.Errorf("%d upstream requests for refused exchanges", n)
	}
	var sessions int
	if err := env.s.App.Store.Pool.QueryRow(t.Context(), "SELECT count(*) FROM sessions WHERE project_id = $1", proj.Id.String()).Scan(&sessions); err != nil || sessions != 0 {
		t.Errorf("%d sessions created in the project (%v), want 0", sessions, err)
	}
	// Without a session nothing is stored, so content too large for a session is answered; a NUL
	// is refused before any handler runs (the body guard), session or not.
	env.fake.Enqueue(llmtest.TextStream("msg_big", chatModel, "ok"))
	if resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", `{"model":"`+chatModel+`","messages":[{"role":"user","content":"`+big+`"}]}`, env.user.Bearer()); resp.StatusCode != http.StatusOK {
		t.Errorf("large content without a session: %d %s", resp.StatusCode, raw)
	}
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions", `{"model":"`+chatModel+`","messages":[{"role":"user","content":"a\u0000b"}]}`, env.user.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusBadRequest); firstPointer(p) != "/messages/0/content" {
		t.Errorf("NUL without a session: errors %+v, want /messages/0/content", fieldErrors(p))
	}
}

// TestChatReportsAnExchangeItCouldNotStore: the reply cannot be stored (the model answered with a
// NUL character, which PostgreSQL text cannot hold): the answer stands, and the failure is
// reported in the body, or in the last chunk before [DONE].
func TestChatReportsAnExchangeItCouldNotStore(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	sess := newSession(t, env.s, env.user, `{"title":"lossy"}`)
	ask := func(stream bool) (*http.Response, []byte) {
		body := `{"model":"` + chatModel + `","session_id":"` + sess.Id.String() + `","stream":` + map[bool]string{true: "true", false: "false"}[stream] +
			`,"messages":[{"role":"user","content":"say it"}]}`
		return env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer())
	}
	env.fake.Enqueue(llmtest.TextStream("msg_s1", chatModel, "bad \x00 byte"))
	resp, raw := ask(false)
	c := decodeInto[struct {
		SessionID    string `json:"session_id"`
		SessionError *struct {
			Code, Message string
		} `json:"session_error"`
	}](t, resp, raw, http.StatusOK)
	if c.SessionID != sess.Id.String() || c.SessionError == nil || c.SessionError.Code != "exchange_not_stored" || !strings.Contains(c.SessionError.Message, "NUL") {
		t.Errorf("non-streamed: %s", raw)
	}

	env.fake.Enqueue(llmtest.TextStream("msg_s2", chatModel, "bad \x00 byte"))
	resp, raw = ask(true)
	events := streamEvents(t, resp, raw)
	last := events[len(events)-1]
	if !strings.Contains(last, `"session_error":{"code":"exchange_not_stored"`) || !strings.Contains(last, `"choices":[]`) {
		t.Errorf("last chunk before [DONE]: %s", last)
	}
	// A stream whose exchange is stored carries no session_error.
	env.fake.Enqueue(llmtest.TextStream("msg_s3", chatModel, "fine"))
	resp, raw = ask(true)
	if strings.Contains(string(raw), "session_error") {
		t.Errorf("a stored exchange reports an error: %s", raw)
	}
	streamEvents(t, resp, raw)
}

// streamEvents checks a stream's data events against the contract (each a ChatCompletionChunk
// or a ChatStreamError, then [DONE]) and returns them without [DONE].
func streamEvents(t *testing.T, resp *http.Response, raw []byte) []string {
	t.Helper()
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(string(raw), "data: [DONE]\n\n") {
		t.Fatalf("stream %d: %s", resp.StatusCode, raw)
	}
	schemas := testutil.LoadContract(t).Doc.Components.Schemas
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatalf("not JSON: %s", data)
		}
		name := "ChatCompletionChunk"
		if strings.HasPrefix(data, `{"error"`) {
			name = "ChatStreamError"
		}
		if err := schemas[name].Value.VisitJSON(v); err != nil {
			t.Errorf("event is not a %s: %v\n%s", name, err, data)
		}
		out = append(out, data)
	}
	return out
}

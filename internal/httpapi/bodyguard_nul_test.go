package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

// TestBodyGuardRefusesNUL: PostgreSQL cannot store U+0000; a NUL anywhere in a body or a
// parameter is the client's error (400 pointing at it), never a 500 and an ERROR in the log.
func TestBodyGuardRefusesNUL(t *testing.T) {
	t.Parallel()
	env := newGuardEnv(t)
	msgs := "/v1/sessions/" + env.session + "/messages"
	post, get := http.MethodPost, http.MethodGet
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	env.run(t, []guardCase{
		{name: "login email", method: post, path: "/v1/auth/login", body: `{"email":"a\u0000@example.com","password":"whatever pw"}`, pointer: "/email"},
		{name: "login password", method: post, path: "/v1/auth/login", body: `{"email":"a@example.com","password":"pw\u0000"}`, pointer: "/password"},
		{name: "login username", method: post, path: "/v1/auth/login", body: `{"username":"\u0000","password":"whatever pw"}`, pointer: "/username"},
		{name: "login form username", method: post, path: "/v1/auth/login", header: form,
			body: `grant_type=password&username=a%00b&password=whatever`, pointer: "/username"},
		{name: "refresh token", method: post, path: "/v1/auth/refresh", body: `{"refresh_token":"x\u0000"}`, pointer: "/refresh_token"},
		{name: "register username", method: post, path: "/v1/auth/register", body: `{"email":"n@example.com","password":"long enough pw","username":"ada\u0000"}`, pointer: "/username"},
		{name: "project name", method: post, path: "/v1/projects", body: `{"name":"p\u0000"}`, pointer: "/name"},
		{name: "project settings value", method: post, path: "/v1/projects", body: `{"name":"p","settings":{"a":["\u0000"]}}`, pointer: "/settings/a/0"},
		{name: "session title", method: post, path: "/v1/sessions", body: `{"title":"t\u0000"}`, pointer: "/title"},
		{name: "message content", method: post, path: msgs, body: `{"role":"user","content":"a\u0000b"}`, pointer: "/content"},
		{name: "message content part", method: post, path: msgs, body: `{"role":"user","content":[{"type":"text","text":"\u0000"}]}`, pointer: "/content/0/text"},
		{name: "message metadata value", method: post, path: msgs, body: `{"role":"user","content":"x","metadata":{"k":"v\u0000"}}`, pointer: "/metadata/k"},
		{name: "message metadata name", method: post, path: msgs, body: `{"role":"user","content":"x","metadata":{"k\u0000":1}}`, pointer: "/metadata/k\x00"},
		{name: "chat message content", method: post, path: "/v1/chat/completions",
			body: `{"model":"` + chatModel + `","messages":[{"role":"user","content":"\u0000"}]}`, pointer: "/messages/0/content"},
		{name: "sessions q", method: get, path: "/v1/sessions?q=%00", location: api.FieldErrorLocationQuery, pointer: "q"},
		{name: "projects q", method: get, path: "/v1/projects?q=a%00b", location: api.FieldErrorLocationQuery, pointer: "q"},
		{name: "messages role", method: get, path: msgs + "?role=%00", location: api.FieldErrorLocationQuery, pointer: "role"},
		{name: "docs asset", method: get, path: "/docs/a%00b", location: api.FieldErrorLocationPath, pointer: "asset"},
	})
}

// TestBodyGuardPassesLegitimateBodies: exact names, unknown members that fold onto nothing
// (OpenAI SDKs send many), same names in different objects and white space after the value.
func TestBodyGuardPassesLegitimateBodies(t *testing.T) {
	t.Parallel()
	env := newGuardEnv(t)
	msgs := "/v1/sessions/" + env.session + "/messages"
	cases := []struct {
		name, path, body string
		status           int
	}{
		{"chat exact names", "/v1/chat/completions",
			chatBody(`"max_tokens":16,"temperature":1,"top_p":0.5,"n":1,"stop":["\n\n"],"stream":false`), http.StatusOK},
		{"chat OpenAI SDK extras", "/v1/chat/completions",
			chatBody(`"frequency_penalty":0,"presence_penalty":0,"logprobs":false,"seed":7,"store":false,"service_tier":"auto",` +
				`"response_format":{"type":"text"},"logit_bias":{},"modalities":["text"],"reasoning_effort":"low","Prompt_Cache_Key":"k"`), http.StatusOK},
		{"chat metadata names differing in case", "/v1/chat/completions", chatBody(`"metadata":{"trace":"a","TRACE":"b"}`), http.StatusOK},
		{"chat same name in sibling objects", "/v1/chat/completions",
			`{"model":"` + chatModel + `","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi","name":"ada"}]}`, http.StatusOK},
		{"message metadata names differing in case", msgs, `{"role":"user","content":"x","metadata":{"k":1,"K":2,"nested":{"k":1}}}` + " \n\t", http.StatusCreated},
		{"message content part extras", msgs, `{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]}`, http.StatusCreated},
		{"message control characters other than NUL", msgs, `{"role":"user","content":"a\u0001b\u001f"}`, http.StatusCreated},
		{"project", "/v1/projects", `{"name":"p","settings":{"Name":"x","name":"y"}}`, http.StatusCreated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path == "/v1/chat/completions" {
				env.fake.Enqueue(llmtest.TextStream("msg_1", chatModel, "ok"))
			}
			resp, raw := env.s.Do(t, http.MethodPost, tc.path, tc.body, env.user.Bearer())
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
			}
			if tc.name == "chat exact names" {
				if got := env.fake.LastRequest().Body["max_tokens"]; got != float64(16) {
					t.Errorf("upstream max_tokens = %v, want the 16 sent", got)
				}
			}
		})
	}
}

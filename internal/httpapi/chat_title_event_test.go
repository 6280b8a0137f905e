package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

// The end event of a chat in a session carries the session's title as the exchange was stored
// (the store answers it with the stored message, without a read of its own): the title given at
// creation, the one a rename set since, and null for an untitled session.
func TestChatEndEventCarriesTheSessionTitle(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	feed := openSSE(t, env.s, "?types=generation.completed", env.user.Bearer())
	titled := newSession(t, env.s, env.user, `{"title":"Ship the release"}`)
	renamed := newSession(t, env.s, env.user, `{"title":"Draft"}`)
	untitled := newSession(t, env.s, env.user, `{}`)
	resp, raw := env.s.Do(t, http.MethodGet, "/v1/sessions/"+renamed.Id.String(), nil, env.user.Bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET session: %d %s", resp.StatusCode, raw)
	}
	resp, raw = env.s.Do(t, http.MethodPatch, "/v1/sessions/"+renamed.Id.String(), `{"title":"Released"}`,
		with(env.user.Bearer(), "If-Match", resp.Header.Get("ETag")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("rename: %d %s", resp.StatusCode, raw)
	}
	for _, tc := range []struct {
		name    string
		session uuid.UUID
		want    any
	}{{"titled", titled.Id, "Ship the release"}, {"renamed", renamed.Id, "Released"}, {"untitled", untitled.Id, nil}} {
		env.fake.Enqueue(llmtest.TextStream("msg_"+uuid.NewString()[:8], chatModel, "Done."))
		resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions",
			`{"model":"`+chatModel+`","messages":[{"role":"user","content":"Go"}],"session_id":"`+tc.session.String()+`"}`, env.user.Bearer())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: chat = %d %s", tc.name, resp.StatusCode, raw)
		}
		_, typ, data := feed.next(t)
		e := decodeEvent(t, data)
		title, present := e.Data["session_title"]
		if typ != "generation.completed" || e.Data["session_id"] != tc.session.String() || !present || title != tc.want {
			t.Errorf("%s: %s %v; want generation.completed with session_title %v", tc.name, typ, e.Data, tc.want)
		}
	}
}

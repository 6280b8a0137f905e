package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
)

// guardCase is one request the body guard must refuse, and where its problem must point.
type guardCase struct {
	name, method, path string
	body               string
	header             map[string]string
	location           api.FieldErrorLocation
	pointer            string
}

// guardEnv is a server with a fake upstream, a signed-in user and one of their sessions.
type guardEnv struct {
	chatEnv
	session string
}

func newGuardEnv(t *testing.T) guardEnv {
	t.Helper()
	env := newChatEnv(t)
	return guardEnv{chatEnv: env, session: newSession(t, env.s, env.user, `{}`).Id.String()}
}

// chatBody is a valid chat completion request with extra members added at the end.
func chatBody(extra string) string {
	b := `{"model":"` + chatModel + `","messages":[{"role":"user","content":"hi"}]`
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

// run sends every case and expects 400 validation_failed pointing at the case's field, and no
// ERROR in the service's log.
func (env guardEnv) run(t *testing.T, cases []guardCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			for k, v := range env.user.Bearer() {
				h[k] = v
			}
			for k, v := range tc.header {
				h[k] = v
			}
			resp, raw := env.s.Do(t, tc.method, tc.path, nilIfEmpty(tc.body), h)
			p := decodeInto[api.Problem](t, resp, raw, http.StatusBadRequest)
			if p.Code != "validation_failed" || p.Errors == nil || len(*p.Errors) == 0 {
				t.Fatalf("problem %s, want validation_failed with a field", raw)
			}
			fe := (*p.Errors)[0]
			loc := tc.location
			if loc == "" {
				loc = api.FieldErrorLocationBody
			}
			if fe.Location != loc || fe.Pointer == nil || *fe.Pointer != tc.pointer {
				t.Errorf("field %s %v, want %s %q; body %s", fe.Location, deref(fe.Pointer), loc, tc.pointer, raw)
			}
		})
	}
	if errs := env.s.Logs.Errors(); len(errs) > 0 {
		t.Errorf("refused requests logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// TestBodyGuardRefusesCaseVariants: encoding/json binds "MAX_TOKENS" to max_tokens, the
// validator checks only "max_tokens"; every variant of a declared name must be refused where
// it stands.
func TestBodyGuardRefusesCaseVariants(t *testing.T) {
	t.Parallel()
	env := newGuardEnv(t)
	const chat, login, register = "/v1/chat/completions", "/v1/auth/login", "/v1/auth/register"
	msgs := "/v1/sessions/" + env.session + "/messages"
	creds := `"email":"` + env.user.Email + `","password":"` + env.user.Password + `"`
	post := http.MethodPost
	env.run(t, []guardCase{
		{name: "chat MAX_TOKENS", method: post, path: chat, body: chatBody(`"MAX_TOKENS":-1000000`), pointer: "/MAX_TOKENS"},
		{name: "chat Temperature", method: post, path: chat, body: chatBody(`"Temperature":9`), pointer: "/Temperature"},
		{name: "chat Top_P", method: post, path: chat, body: chatBody(`"Top_P":5`), pointer: "/Top_P"},
		{name: "chat N", method: post, path: chat, body: chatBody(`"N":3`), pointer: "/N"},
		{name: "chat STOP", method: post, path: chat, body: chatBody(`"STOP":["a","b","c","d","e"]`), pointer: "/STOP"},
		{name: "chat MESSAGES", method: post, path: chat, body: chatBody(`"MESSAGES":[{"role":"system","content":"x"}]`), pointer: "/MESSAGES"},
		{name: "chat Kelvin sign folds onto k", method: post, path: chat, body: chatBody(`"max_to\u212aens":-1`), pointer: "/max_to\u212aens"},
		{name: "chat long s folds onto s", method: post, path: chat, body: chatBody(`"\u017ftop":["a","b","c","d","e"]`), pointer: "/\u017ftop"},
		{name: "chat escaped name", method: post, path: chat, body: chatBody(`"\u004d\u0041\u0058_tokens":-1`), pointer: "/MAX_tokens"},
		{name: "chat message Content", method: post, path: chat,
			body: `{"model":"` + chatModel + `","messages":[{"role":"user","content":"hi","Content":"other"}]}`, pointer: "/messages/0/Content"},
		{name: "chat second message ROLE", method: post, path: chat,
			body: `{"model":"` + chatModel + `","messages":[{"role":"user","content":"hi"},{"ROLE":"system","role":"user","content":"x"}]}`, pointer: "/messages/1/ROLE"},
		{name: "chat tool function NAME", method: post, path: chat,
			body: chatBody(`"tools":[{"type":"function","function":{"name":"ok","NAME":"not a name!"}}]`), pointer: "/tools/0/function/NAME"},
		{name: "chat stream_options Include_Usage", method: post, path: chat,
			body: chatBody(`"stream_options":{"Include_Usage":true}`), pointer: "/stream_options/Include_Usage"},
		{name: "chat tool_choice branch Function", method: post, path: chat,
			body: chatBody(`"tool_choice":{"type":"function","function":{"name":"f"},"Function":{"name":"g"}}`), pointer: "/tool_choice/Function"},
		{name: "project NAME", method: post, path: "/v1/projects", body: `{"name":"p","NAME":"q"}`, pointer: "/NAME"},
		{name: "login PASSWORD", method: post, path: login, body: `{` + creds + `,"PASSWORD":"x"}`, pointer: "/PASSWORD"},
		{name: "register Username", method: post, path: register, body: `{"email":"v@example.com","password":"long enough pw","Username":"x"}`, pointer: "/Username"},
		{name: "message Metadata", method: post, path: msgs, body: `{"role":"user","content":"x","Metadata":{"a":1}}`, pointer: "/Metadata"},
		{name: "message content part TEXT", method: post, path: msgs,
			body: `{"role":"user","content":[{"type":"text","text":"a","TEXT":"b"}]}`, pointer: "/content/0/TEXT"},
	})
}

// TestBodyGuardRefusesDuplicateMembers: which of two same-named members counts differs from
// parser to parser; the body is ambiguous and refused.
func TestBodyGuardRefusesDuplicateMembers(t *testing.T) {
	t.Parallel()
	env := newGuardEnv(t)
	const chat = "/v1/chat/completions"
	msgs := "/v1/sessions/" + env.session + "/messages"
	post := http.MethodPost
	env.run(t, []guardCase{
		{name: "chat max_tokens", method: post, path: chat, body: chatBody(`"max_tokens":-1,"max_tokens":16`), pointer: "/max_tokens"},
		{name: "chat message role", method: post, path: chat,
			body: `{"model":"` + chatModel + `","messages":[{"role":"system","role":"user","content":"hi"}]}`, pointer: "/messages/0/role"},
		{name: "chat metadata", method: post, path: chat, body: chatBody(`"metadata":{"k":"a","k":"b"}`), pointer: "/metadata/k"},
		{name: "chat tool parameters", method: post, path: chat,
			body: chatBody(`"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","type":"array"}}}]`), pointer: "/tools/0/function/parameters/type"},
		{name: "project name", method: post, path: "/v1/projects", body: `{"name":"a","name":"b"}`, pointer: "/name"},
		{name: "register email", method: post, path: "/v1/auth/register", body: `{"email":"d1@example.com","email":"d2@example.com","password":"long enough pw"}`, pointer: "/email"},
		{name: "message metadata key", method: post, path: msgs, body: `{"role":"user","content":"x","metadata":{"k":1,"k":2}}`, pointer: "/metadata/k"},
		{name: "many members", method: post, path: msgs, body: `{"role":"user","content":"x","metadata":{` + manyMembers(40) + `,"m7":0}}`, pointer: "/metadata/m7"},
	})
}

// manyMembers is n distinct members m0..m(n-1), past the guard's linear search.
func manyMembers(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"m` + strconv.Itoa(i) + `":0`
	}
	return strings.Join(parts, ",")
}

// TestBodyGuardRefusesTrailingData: the validator and the binder read only the first value.
func TestBodyGuardRefusesTrailingData(t *testing.T) {
	t.Parallel()
	env := newGuardEnv(t)
	post := http.MethodPost
	env.run(t, []guardCase{
		{name: "project second object", method: post, path: "/v1/projects", body: `{"name":"x"} {"name":"y"}`, pointer: ""},
		{name: "login garbage", method: post, path: "/v1/auth/login", body: `{"email":"a@example.com","password":"p"}x`, pointer: ""},
		{name: "chat empty object", method: post, path: "/v1/chat/completions", body: chatBody("") + `{}`, pointer: ""},
		{name: "message array", method: post, path: "/v1/sessions/" + env.session + "/messages", body: `{"role":"user","content":"x"}[]`, pointer: ""},
	})
}

package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// sseEvents reads up to n SSE events (n < 0: all) and returns each with its blank line.
func sseEvents(t *testing.T, r *bufio.Reader, n int) []string {
	t.Helper()
	var events []string
	var cur strings.Builder
	for n < 0 || len(events) < n {
		line, err := r.ReadString('\n')
		cur.WriteString(line)
		if line == "\n" {
			if !strings.HasPrefix(cur.String(), ":") { // keep-alive comments are not events
				events = append(events, cur.String())
			}
			cur.Reset()
		}
		if err == io.EOF {
			if cur.Len() > 0 {
				t.Fatalf("stream ended inside an event: %q", cur.String())
			}
			return events
		}
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
	}
	return events
}

// checkStreamEvents asserts every event is numbered in order from first and carries a chunk of
// the contract (or a stream error, or the final [DONE]).
func checkStreamEvents(t *testing.T, events []string, first int) {
	t.Helper()
	schemas := testutil.LoadContract(t).Doc.Components.Schemas
	for i, e := range events {
		id, data, ok := strings.Cut(strings.TrimSuffix(e, "\n\n"), "\n")
		if !ok || id != fmt.Sprintf("id: %d", first+i) || !strings.HasPrefix(data, "data: ") {
			t.Fatalf("event %d is not `id: %d` then data: %q", i, first+i, e)
		}
		data = strings.TrimPrefix(data, "data: ")
		if data == "[DONE]" {
			if i != len(events)-1 {
				t.Fatalf("[DONE] is event %d of %d", i, len(events))
			}
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		schema := "ChatCompletionChunk"
		if _, failed := v["error"]; failed {
			schema = "ChatStreamError"
		}
		if err := schemas[schema].Value.VisitJSON(v); err != nil {
			t.Fatalf("event %d is not a %s: %v\n%s", i, schema, err, data)
		}
	}
}

// getStream resumes a generation on s and returns the whole answer, validated by the contract.
func getStream(t *testing.T, s *testutil.Server, u testutil.Session, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req := s.Request(t, http.MethodGet, path, nil, header)
	for k, v := range u.Bearer() {
		req.Header.Set(k, v)
	}
	resp, raw := s.Client.Do(t, req)
	if err := testutil.LoadContract(t).Validate(req, resp.StatusCode, resp.Header, raw); err != nil {
		t.Errorf("contract: %v", err)
	}
	return resp, string(raw)
}

var (
	generationIDs = regexp.MustCompile(`chatcmpl-[0-9a-f-]{36}|"generation_id":"[0-9a-f-]{36}"`)
	createdTimes  = regexp.MustCompile(`"created":[0-9]+`)
)

// sameExceptIDs blanks what differs between two generations of one script: ids and times.
func sameExceptIDs(s string) string {
	return createdTimes.ReplaceAllString(generationIDs.ReplaceAllString(s, "<id>"), `"created":0`)
}

// A chat stream started on A, dropped after 5 events, resumed on B with Last-Event-ID: B sends
// exactly the remaining events and [DONE] (part of them live, as the model writes them); the
// dropped part and the resumed part make the whole stream byte for byte, and the generation,
// which the disconnect did not stop, is stored in its session.
func TestChatStreamResumesOnAnotherInstance(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	b := env.s.Twin(t)
	sess := newSession(t, env.s, env.user, `{}`)
	words := []string{"one ", "two ", "three ", "four ", "five ", "six ", "seven ", "eight ", "nine ", "ten"}
	slow := llmtest.TextStream("msg_r1", chatModel, words...)
	slow.Delay = 40 * time.Millisecond // the drop and the resume happen while the model writes
	env.fake.Enqueue(slow)

	body := `{"model":"` + chatModel + `","stream":true,"ccb_resumable":true,"session_id":"` + sess.Id.String() + `","messages":[{"role":"user","content":"count"}]}`
	ctx, drop := context.WithCancel(t.Context())
	req := env.s.Request(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer()).WithContext(ctx)
	resp, err := env.s.Client.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	gid := resp.Header.Get("X-Generation-ID")
	if resp.StatusCode != http.StatusOK || uuid.Validate(gid) != nil {
		t.Fatalf("stream answer %d, X-Generation-ID %q", resp.StatusCode, gid)
	}
	seen := sseEvents(t, bufio.NewReader(resp.Body), 5)
	drop() // the phone lost its network
	_ = resp.Body.Close()
	checkStreamEvents(t, seen, 1)
	if !strings.Contains(seen[0], `"generation_id":"`+gid+`"`) {
		t.Errorf("the first chunk does not name the generation: %s", seen[0])
	}

	resp, rest := getStream(t, b, env.user, "/v1/chat/completions/"+gid+"/stream", map[string]string{"Last-Event-ID": "5"})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Generation-ID") != gid {
		t.Fatalf("resume on B: %d %v %s", resp.StatusCode, resp.Header, rest)
	}
	remaining := sseEvents(t, bufio.NewReader(strings.NewReader(rest)), -1)
	checkStreamEvents(t, remaining, 6)
	if len(remaining) == 0 || remaining[len(remaining)-1] != fmt.Sprintf("id: %d\ndata: [DONE]\n\n", 5+len(remaining)) {
		t.Fatalf("the resumed stream does not end with [DONE]:\n%s", rest)
	}

	// The whole recording, replayed from the start on B, is what A would have sent.
	_, whole := getStream(t, b, env.user, "/v1/chat/completions/"+gid+"/stream", nil)
	if got := strings.Join(seen, "") + rest; got != whole {
		t.Fatalf("dropped part + resumed part differ from the whole stream:\n%s\n---\n%s", got, whole)
	}
	_, fromAfter := getStream(t, b, env.user, "/v1/chat/completions/"+gid+"/stream?after=5", nil)
	if fromAfter != rest {
		t.Errorf("?after=5 gave another answer than Last-Event-ID: 5:\n%s", fromAfter)
	}

	// An uninterrupted stream of the same script on A: the same bytes but for ids and times.
	env.fake.Enqueue(llmtest.TextStream("msg_r1", chatModel, words...))
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions",
		`{"model":"`+chatModel+`","stream":true,"messages":[{"role":"user","content":"count"}]}`, env.user.Bearer())
	if resp.StatusCode != http.StatusOK || sameExceptIDs(string(raw)) != sameExceptIDs(whole) {
		t.Fatalf("an uninterrupted stream differs from the resumed one:\n%s\n---\n%s", raw, whole)
	}

	select {
	case <-env.fake.ClosedEarly():
		t.Error("the disconnect cancelled the resumable generation")
	default:
	}
	resp, raw = env.s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String()+"/messages", nil, env.user.Bearer())
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"one two three four five six seven eight nine ten"`) {
		t.Fatalf("the completed generation is not stored in its session: %d %s", resp.StatusCode, raw)
	}
}

// Another user's generation, an unknown one and a malformed resume point are refused before
// any event; a cancel request still stops a resumable generation whose client went away, and
// its stream then ends as a cancelled one does.
func TestChatStreamResumeRefusalsAndCancel(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	sess := newSession(t, env.s, env.user, `{}`)
	slow := llmtest.TextStream("msg_r2", chatModel, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	slow.Delay = 200 * time.Millisecond
	env.fake.Enqueue(slow)
	ctx, drop := context.WithCancel(t.Context())
	body := `{"model":"` + chatModel + `","stream":true,"session_id":"` + sess.Id.String() + `","messages":[{"role":"user","content":"go"}]}`
	req := env.s.Request(t, http.MethodPost, "/v1/chat/completions", body, with(env.user.Bearer(), "X-CCB-Resumable", "true")).WithContext(ctx)
	resp, err := env.s.Client.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	gid := resp.Header.Get("X-Generation-ID")
	sseEvents(t, bufio.NewReader(resp.Body), 1)
	drop()
	_ = resp.Body.Close()

	other := env.s.Register(t, "resume-other@example.com")
	resp, raw := getStream(t, env.s, other, "/v1/chat/completions/"+gid+"/stream", nil)
	decodeProblem(t, resp, []byte(raw), http.StatusNotFound)
	resp, raw = getStream(t, env.s, env.user, "/v1/chat/completions/"+uuid.NewString()+"/stream", nil)
	decodeProblem(t, resp, []byte(raw), http.StatusNotFound)
	resp, raw = getStream(t, env.s, env.user, "/v1/chat/completions/"+gid+"/stream", map[string]string{"Last-Event-ID": "x"})
	decodeProblem(t, resp, []byte(raw), http.StatusBadRequest)
	resp, raw = getStream(t, env.s, testutil.Session{}, "/v1/chat/completions/"+gid+"/stream", nil)
	decodeProblem(t, resp, []byte(raw), http.StatusUnauthorized)

	time.Sleep(300 * time.Millisecond) // the generation outlives its client…
	select {
	case <-env.fake.ClosedEarly():
		t.Fatal("the disconnect cancelled a resumable generation")
	default:
	}
	resp, cancelled := env.s.Do(t, http.MethodDelete, "/v1/chat/completions/"+sess.Id.String(), nil, env.user.Bearer())
	if st := decodeInto[map[string]any](t, resp, cancelled, http.StatusOK); st["cancelled"] != true {
		t.Fatalf("cancel %s", cancelled)
	}
	select { // …until it is cancelled
	case <-env.fake.ClosedEarly():
	case <-time.After(5 * time.Second):
		t.Fatal("the cancel did not stop the upstream")
	}
	resp, rest := getStream(t, env.s, env.user, "/v1/chat/completions/"+gid+"/stream", map[string]string{"Last-Event-ID": "1"})
	events := sseEvents(t, bufio.NewReader(strings.NewReader(rest)), -1)
	checkStreamEvents(t, events, 2)
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(rest, "data: [DONE]\n\n") {
		t.Fatalf("the cancelled generation's stream: %d %s", resp.StatusCode, rest)
	}
}

// A resume point before what a long generation's bounded recording still holds is a 410.
func TestChatStreamResumeBeforeTheKeptEventsIsGone(t *testing.T) {
	t.Parallel()
	env := newChatEnvWith(t, func(c *testutil.Config) { c.Resume.MaxChunks = 10 })
	words := make([]string, 400) // Redis trims whole nodes (100 entries by default) with MAXLEN ~
	for i := range words {
		words[i] = "w"
	}
	env.fake.Enqueue(llmtest.TextStream("msg_r3", chatModel, words...))
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions",
		`{"model":"`+chatModel+`","stream":true,"messages":[{"role":"user","content":"go"}]}`, env.user.Bearer())
	gid := resp.Header.Get("X-Generation-ID")
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(string(raw), "data: [DONE]\n\n") {
		t.Fatalf("stream %d", resp.StatusCode)
	}
	resp, body := getStream(t, env.s, env.user, "/v1/chat/completions/"+gid+"/stream", map[string]string{"Last-Event-ID": "1"})
	if p := decodeProblem(t, resp, []byte(body), http.StatusGone); p.Code != "resume_point_expired" {
		t.Errorf("code %q", p.Code)
	}
	all := sseEvents(t, bufio.NewReader(strings.NewReader(string(raw))), -1)
	resp, tail := getStream(t, env.s, env.user, "/v1/chat/completions/"+gid+"/stream", map[string]string{"Last-Event-ID": fmt.Sprint(len(all) - 3)})
	if resp.StatusCode != http.StatusOK || tail != strings.Join(all[len(all)-3:], "") {
		t.Errorf("the kept tail: %d %q", resp.StatusCode, tail)
	}
}

// A recording that vanishes before its end (its instance died) ends the replay with an error
// event, generation_lost, and no [DONE].
func TestChatStreamResumeOfALostGenerationEndsWithAnError(t *testing.T) {
	t.Parallel()
	env := newChatEnvWith(t, func(c *testutil.Config) { c.Resume.Poll = 50 * time.Millisecond })
	slow := llmtest.TextStream("msg_r4", chatModel, "a", "b", "c", "d", "e", "f")
	slow.Delay = 300 * time.Millisecond
	env.fake.Enqueue(slow)
	resp, err := env.s.Client.HTTP.Do(env.s.Request(t, http.MethodPost, "/v1/chat/completions",
		`{"model":"`+chatModel+`","stream":true,"ccb_resumable":true,"messages":[{"role":"user","content":"go"}]}`, env.user.Bearer()))
	if err != nil {
		t.Fatal(err)
	}
	gid := resp.Header.Get("X-Generation-ID")
	sseEvents(t, bufio.NewReader(resp.Body), 1)
	_ = resp.Body.Close()
	req := env.s.Request(t, http.MethodGet, "/v1/chat/completions/"+gid+"/stream", nil, env.user.Bearer())
	replay, err := env.s.Client.HTTP.Do(req)
	if err != nil || replay.StatusCode != http.StatusOK {
		t.Fatalf("resume: %v %v", replay, err)
	}
	defer replay.Body.Close()
	r := bufio.NewReader(replay.Body)
	sseEvents(t, r, 1) // the replay runs; now its recording goes away
	if err := env.s.App.Redis.Del(t.Context(), env.s.App.Config.RedisPrefix+"{g:"+gid+"}:meta").Err(); err != nil {
		t.Fatal(err)
	}
	rest := sseEvents(t, r, -1)
	if len(rest) == 0 || !strings.Contains(rest[len(rest)-1], `"code":"generation_lost"`) || strings.Contains(strings.Join(rest, ""), "[DONE]") {
		t.Fatalf("the replay of a lost generation ended with %q", rest)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(rest[len(rest)-1], "data: "), "\n\n")), &v); err != nil {
		t.Fatal(err)
	}
	if err := testutil.LoadContract(t).Doc.Components.Schemas["ChatStreamError"].Value.VisitJSON(v); err != nil {
		t.Errorf("not a ChatStreamError: %v", err)
	}
}

package httpapi_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// pushUser is a user with a titled session and a registered device.
type pushUser struct {
	session testutil.Session
	id      string // the chat session
	token   string
}

func newPushUser(t *testing.T, env chatEnv, apns *testutil.APNsServer, u testutil.Session, token string) pushUser {
	t.Helper()
	sess := newSession(t, env.s, u, `{"title":"Ship the release"}`)
	registerDevice(t, env.s, u, `{"platform":"ios","token":"`+token+`","environment":"production","bundle_id":"`+apns.Topic+`"}`, http.StatusCreated)
	return pushUser{session: u, id: sess.Id.String(), token: token}
}

// chatInSession runs one stored chat turn in the user's session, to its end.
func chatInSession(t *testing.T, env chatEnv, u pushUser) {
	t.Helper()
	env.fake.Enqueue(llmtest.TextStream("msg_"+uuid.NewString()[:8], chatModel, "All tests ", "pass."))
	resp, raw := env.s.Do(t, http.MethodPost, "/v1/chat/completions",
		`{"model":"`+chatModel+`","messages":[{"role":"user","content":"Run the tests"}],"session_id":"`+u.id+`"}`, u.session.Bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat = %d %s", resp.StatusCode, raw)
	}
}

// openFeed opens the user's SSE feed and returns once the server has registered the connection
// (its ": connected" comment); the feed stays open until the test ends.
func openFeed(t *testing.T, s *testutil.Server, u testutil.Session) *bufio.Reader {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+u.AccessToken)
	// A plain client: the validating one reads a body to its end, and a feed has none.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("feed = %d", resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("feed ended before it was connected: %v", err)
		}
		if strings.HasPrefix(line, ": connected") {
			return r
		}
	}
}

// readUntilEvent reads the feed until an event of typ arrives.
func readUntilEvent(t *testing.T, r *bufio.Reader, typ string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("feed ended before %s: %v", typ, err)
		}
		if strings.TrimSpace(line) == "event: "+typ {
			return
		}
	}
}

// End to end: a chat generation that completes while its user has no live connection is pushed
// to the user's device through APNs; one that completes while the user's SSE feed is open is not.
func TestPushOnChatCompletion(t *testing.T) {
	t.Parallel()
	apns := testutil.StartAPNs(t)
	env := newChatEnvWith(t, func(c *testutil.Config) {
		apns.Configure(c)
		c.Push.Workers = 1 // one worker handles events in order: the test can tell "none" from "not yet"
	})
	away := newPushUser(t, env, apns, env.user, strings.Repeat("a", 64))
	present := newPushUser(t, env, apns, env.s.Register(t, "present-push@example.com"), strings.Repeat("b", 64))

	chatInSession(t, env, away)
	got := apns.WaitRequests(t, 1)
	title, body := alertOf(got[0])
	if got[0].Token != away.token || got[0].Status != http.StatusOK || title != "Reply ready" || body != "Ship the release" ||
		got[0].Header.Get("apns-topic") != apns.Topic || got[0].Proto != "HTTP/2.0" {
		t.Fatalf("push %+v (%q / %q)", got[0], title, body)
	}
	if strings.Contains(title+body, "All tests") {
		t.Fatal("reply text pushed without the user's consent")
	}

	feed := openFeed(t, env.s, present.session)
	chatInSession(t, env, present)
	readUntilEvent(t, feed, "generation.completed") // the feed told the user, live
	socket := newPushUser(t, env, apns, env.s.Register(t, "socket-push@example.com"), strings.Repeat("c", 64))
	ws := openSocket(t, env.s, socket.session)
	chatInSession(t, env, socket)
	readSocketUntil(t, ws, "generation.completed")
	// A later completion of the away user is pushed; by then the connected users' events were
	// handled (one worker, in order), without a push.
	chatInSession(t, env, away)
	got = apns.WaitRequests(t, 2)
	for _, p := range got {
		if p.Token == present.token || p.Token == socket.token {
			t.Fatalf("pushed to a user whose feed was open (%s)", p.Token[:1])
		}
	}
	if len(got) != 2 || got[1].Token != away.token {
		t.Fatalf("pushes %v", got)
	}
}

// openSocket opens the user's WebSocket feed (authenticated by the header, as the iOS app does);
// the connection is registered before the upgrade answers.
func openSocket(t *testing.T, s *testutil.Server, u testutil.Session) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(s.URL, "http")+"/v1/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + u.AccessToken}}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func readSocketUntil(t *testing.T, c *websocket.Conn, typ string) {
	t.Helper()
	for {
		_, msg, err := c.Read(t.Context())
		if err != nil {
			t.Fatalf("socket ended before %s: %v", typ, err)
		}
		var e struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(msg, &e) == nil && e.Type == typ {
			return
		}
	}
}

func alertOf(p testutil.APNsPush) (title, body string) {
	aps, _ := p.Payload["aps"].(map[string]any)
	a, _ := aps["alert"].(map[string]any)
	title, _ = a["title"].(string)
	body, _ = a["body"].(string)
	return title, body
}

package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func wsURL(s *testutil.Server, query string) string {
	return "ws" + strings.TrimPrefix(s.URL, "http") + "/v1/ws" + query
}

// dialWS opens /v1/ws and checks the 101 (or the refusal) against the contract.
func dialWS(t *testing.T, s *testutil.Server, query string, header map[string]string, protocols ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, wsURL(s, query), &websocket.DialOptions{HTTPHeader: h, Subprotocols: protocols})
	if resp != nil {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/ws"+query, nil)
		var body []byte
		if resp.StatusCode != http.StatusSwitchingProtocols && resp.Body != nil {
			body = readBody(resp)
		}
		if verr := testutil.LoadContract(t).Validate(req, resp.StatusCode, resp.Header, body); verr != nil {
			t.Errorf("contract: %v", verr)
		}
	}
	if c != nil {
		c.SetReadLimit(events.MaxFrameBytes)
		t.Cleanup(func() { _ = c.CloseNow() })
	}
	return c, resp, err
}

func readBody(resp *http.Response) []byte {
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
	}
	return []byte(b.String())
}

func mustDialWS(t *testing.T, s *testutil.Server, query string, u testutil.Session) *websocket.Conn {
	t.Helper()
	c, resp, err := dialWS(t, s, query, u.Bearer())
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	return c
}

// nextWS reads one event, checked against the Event schema.
func nextWS(t *testing.T, c *websocket.Conn) api.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return decodeEvent(t, b)
}

func decodeEvent(t *testing.T, b []byte) api.Event {
	t.Helper()
	var v any
	_ = json.Unmarshal(b, &v)
	if err := testutil.LoadContract(t).Doc.Components.Schemas["Event"].Value.VisitJSON(v); err != nil {
		t.Fatalf("event %s does not match the Event schema: %v", b, err)
	}
	var e api.Event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// sseStream opens /v1/events and returns a reader of its events.
type sseStream struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func openSSE(t *testing.T, s *testutil.Server, query string, header map[string]string) *sseStream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/events"+query, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if err := testutil.LoadContract(t).Validate(req, resp.StatusCode, resp.Header, nil); err != nil {
		t.Errorf("contract: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/events: %d", resp.StatusCode)
	}
	return &sseStream{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event's type and data, skipping comments.
func (s *sseStream) next(t *testing.T) (id, typ string, data []byte) {
	t.Helper()
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "event: "):
			typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = []byte(line[6:])
		case line == "" && typ != "":
			return id, typ, data
		}
	}
	t.Fatalf("stream ended: %v", s.sc.Err())
	return
}

func realtimeServer(t *testing.T, f func(*testutil.Config)) *testutil.Server {
	return testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.Events.AuthRecheck = 100 * time.Millisecond
		if f != nil {
			f(c)
		}
	}))
}

func TestRealtimeAcrossInstances(t *testing.T) {
	t.Parallel()
	a := realtimeServer(t, nil)
	b := a.Twin(t)
	u := a.Register(t, "rt-a@example.com")
	other := a.Register(t, "rt-b@example.com")
	onB := mustDialWS(t, b, "", u)
	otherOnB := mustDialWS(t, b, "", other)
	sseOnA := openSSE(t, a, "", u.Bearer())

	sess := newSession(t, a, u, `{"title":"live"}`)
	msg := addMessage(t, a, u, sess.Id.String(), `{"role":"user","content":"hello"}`)

	for _, want := range []string{"session.created", "message.created"} {
		e := nextWS(t, onB)
		if string(e.Type) != want {
			t.Fatalf("WS on B got %s, want %s", e.Type, want)
		}
		id, typ, data := sseOnA.next(t)
		se := decodeEvent(t, data)
		if typ != want || se.Id != id || se.Id != e.Id {
			t.Fatalf("SSE on A got %s %s (id %s), want %s with the WebSocket's id %s", typ, data, id, want, e.Id)
		}
		if want == "message.created" && (e.Data["message_id"] != msg.Id.String() || e.Data["session_id"] != sess.Id.String()) {
			t.Fatalf("message.created data %v", e.Data)
		}
	}
	// The other user's first event is their own, never the first user's.
	p := newProject(t, a, other, `{"name":"mine"}`)
	if e := nextWS(t, otherOnB); e.Type != "project.created" || e.Data["project_id"] != p.Id.String() {
		t.Fatalf("other user got %s %v; want only their own project.created", e.Type, e.Data)
	}
	if on, err := b.App.Events.Online(context.Background(), uuid.MustParse(u.UserID)); err != nil || !on {
		t.Fatalf("online = %v, %v with live connections", on, err)
	}
}

func TestRealtimeRefusedBeforeUpgrade(t *testing.T) {
	t.Parallel()
	s := realtimeServer(t, func(c *testutil.Config) { c.Events.MaxConnsPerUser = 2 })
	u := s.Register(t, "rt-auth@example.com")
	refused := func(name string, status int, query string, header map[string]string, protocols ...string) {
		t.Helper()
		_, resp, err := dialWS(t, s, query, header, protocols...)
		if err == nil || resp == nil || resp.StatusCode != status {
			t.Errorf("%s: err %v, response %v; want %d before the upgrade", name, err, resp, status)
		}
	}
	refused("no token", http.StatusUnauthorized, "", nil)
	refused("bad token", http.StatusUnauthorized, "", map[string]string{"Authorization": "Bearer not-a-token"})
	refused("bad ticket", http.StatusUnauthorized, "?ticket=nope", nil)
	refused("foreign origin", http.StatusForbidden, "", map[string]string{"Authorization": "Bearer " + u.AccessToken, "Origin": "https://evil.example"})
	refused("bad filter", http.StatusBadRequest, "?types=nope", u.Bearer())
	refused("bad last id", http.StatusBadRequest, "?last_event_id=12", u.Bearer())

	ticket := func() string {
		resp, raw := s.Do(t, http.MethodPost, "/v1/realtime/tickets", nil, u.Bearer())
		tk := decodeInto[api.RealtimeTicket](t, resp, raw, http.StatusCreated)
		if resp.Header.Get("Cache-Control") != "no-store" || !tk.ExpiresAt.After(time.Now()) {
			t.Fatalf("ticket response %v %+v", resp.Header, tk)
		}
		return tk.Ticket
	}
	tk := ticket()
	c, resp, err := dialWS(t, s, "", map[string]string{"Origin": "capacitor://localhost"}, "ccb.events.v1", "ccb.ticket."+tk)
	if err != nil || c.Subprotocol() != "ccb.events.v1" {
		t.Fatalf("ticket as subprotocol: %v %v", err, resp)
	}
	refused("reused ticket", http.StatusUnauthorized, "?ticket="+tk, nil)
	tk2 := ticket()
	sse := openSSE(t, s, "?ticket="+tk2, nil)
	_ = sse
	refused("over the connection cap", http.StatusTooManyRequests, "", u.Bearer())
}

func TestRealtimeLogoutClosesSocket(t *testing.T) {
	t.Parallel()
	s := realtimeServer(t, nil)
	u := s.Register(t, "rt-logout@example.com")
	c := mustDialWS(t, s, "", u)
	sse := openSSE(t, s, "", u.Bearer())
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/logout", nil, u.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != 4001 {
		t.Fatalf("after logout the socket read %v; want close code 4001", err)
	}
	if _, typ, data := sse.next(t); typ != "close" || !strings.Contains(string(data), "4001") {
		t.Fatalf("SSE after logout: %s %s", typ, data)
	}
}

func TestRealtimeResumeAndResync(t *testing.T) {
	t.Parallel()
	s := realtimeServer(t, nil)
	u := s.Register(t, "rt-resume@example.com")
	c := mustDialWS(t, s, "?types=project.*", u)
	newProject(t, s, u, `{"name":"one"}`)
	first := nextWS(t, c)
	_ = c.Close(websocket.StatusNormalClosure, "")
	newSession(t, s, u, `{"title":"filtered out"}`)
	p2 := newProject(t, s, u, `{"name":"two"}`)
	p3 := newProject(t, s, u, `{"name":"three"}`)

	c = mustDialWS(t, s, "?types=project.*&last_event_id="+first.Id, u)
	for _, want := range []uuid.UUID{p2.Id, p3.Id} {
		if e := nextWS(t, c); e.Data["project_id"] != want.String() {
			t.Fatalf("resumed event %v; want project %s", e.Data, want)
		}
	}
	p4 := newProject(t, s, u, `{"name":"live"}`)
	if e := nextWS(t, c); e.Data["project_id"] != p4.Id.String() {
		t.Fatalf("after the replay got %v; want the live project %s", e.Data, p4.Id)
	}
	sse := openSSE(t, s, "?types=project.created", map[string]string{"Authorization": "Bearer " + u.AccessToken, "Last-Event-ID": first.Id})
	if _, _, data := sse.next(t); decodeEvent(t, data).Data["project_id"] != p2.Id.String() {
		t.Fatalf("SSE resumed with %s", data)
	}
	stale := mustDialWS(t, s, "?last_event_id=1-0", u)
	if e := nextWS(t, stale); e.Type != "resync" || e.Data["last_event_id"] != "1-0" {
		t.Fatalf("resume from an id older than the retention: %s %v; want resync", e.Type, e.Data)
	}
}

func TestRealtimeSlowConsumer(t *testing.T) {
	t.Parallel()
	s := realtimeServer(t, func(c *testutil.Config) { c.Events.Buffer = 4; c.Events.Heartbeat = time.Second })
	u := s.Register(t, "rt-slow@example.com")
	c := mustDialWS(t, s, "", u)
	// The client reads nothing while far more than the socket buffers can hold is published.
	big := strings.Repeat("x", 16<<10)
	user := uuid.MustParse(u.UserID)
	deadline := time.Now().Add(30 * time.Second)
	for !slowLogged(s) && time.Now().Before(deadline) {
		for range 50 {
			if err := s.App.Events.Publish(context.Background(), user, events.MessageCreated, map[string]string{"pad": big}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !slowLogged(s) {
		for _, l := range s.Info.Lines() {
			if strings.Contains(l, "events") {
				t.Log(l)
			}
		}
		t.Fatal("a client that stopped reading was not disconnected as a slow consumer")
	}
	for _, l := range s.Info.Lines() {
		// A buffer overflow logs how much was queued; a write that timed out first logs no count.
		if m := queuedCount.FindStringSubmatch(l); strings.Contains(l, "slow consumer") && m != nil && m[1] != "3" && m[1] != "4" {
			t.Errorf("slow consumer log %s; the buffer must stay at most 4", l)
		}
	}
	// The connection is gone: reading drains what was sent, then fails.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = c.Read(ctx)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("slow consumer's connection still open")
	}
}

var queuedCount = regexp.MustCompile(`"queued":(\d+)`)

func slowLogged(s *testutil.Server) bool {
	for _, l := range s.Info.Lines() {
		if strings.Contains(l, "slow consumer disconnected") {
			return true
		}
	}
	return false
}

var _ = fmt.Sprintf

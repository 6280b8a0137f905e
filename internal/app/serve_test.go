package app_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/app"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	tu "github.com/ccbackend/ccbackend/internal/testutil"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// guard bounds how long a test waits for the server to act; the configured timeouts are far
// shorter, and the old server (10 s header timeout, no body or write deadline) exceeds it.
const guard = 5 * time.Second

// served is the real server (app.Serve, with its http.Server and listener) on a loopback port.
type served struct {
	addr string
	app  *app.App
}

func serve(t testing.TB, adjust func(*config.Config)) served {
	t.Helper()
	cfg := tu.BaseConfig(t)
	cfg.DatabaseURL, cfg.RedisPrefix = tu.NewDatabase(t), tu.NewRedisPrefix(t)
	cfg.Env, cfg.MigrateOnStart, cfg.MetricsAddr, cfg.BcryptCost = "test", false, "", 4
	cfg.RateLimitAuth = config.RatePolicy{Limit: 10000, Period: time.Minute}
	cfg.RateLimitDefault = config.RatePolicy{Limit: 100000, Period: time.Minute}
	cfg.ShutdownTimeout = time.Second
	adjust(&cfg)
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), "test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, app.Listeners{Public: l}) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	return served{addr: l.Addr().String(), app: a}
}

func (s served) url(path string) string { return "http://" + s.addr + path }

// postJSON posts body to path and decodes the answer into out; it fails unless the status is want.
func (s served) postJSON(t testing.TB, path, token, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url(path), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want || json.NewDecoder(resp.Body).Decode(out) != nil {
		t.Fatalf("POST %s = %d, want %d", path, resp.StatusCode, want)
	}
}

// token registers a user and returns their access token.
func (s served) token(t testing.TB) string {
	t.Helper()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	email := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "@example.com"
	s.postJSON(t, "/v1/auth/register", "", `{"email":"`+email+`","password":"correct horse battery staple"}`, http.StatusCreated, &body)
	return body.AccessToken
}

// closedByServer reads c until the server closes it; it fails when the guard passes first.
func closedByServer(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(guard))
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v (read %q)", guard, got)
	}
	return got
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func short(c *config.Config) {
	c.ReadHeaderTimeout, c.BodyTimeout, c.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
}

func TestSlowlorisHeadersAreCutOff(t *testing.T) {
	t.Parallel()
	s := serve(t, short)
	c := dial(t, s.addr)
	go func() { // headers byte by byte, never finished
		_, _ = io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n")
		for {
			if _, err := c.Write([]byte("X")); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	closedByServer(t, c)
}

func TestStalledBodyIsCutOff(t *testing.T) {
	t.Parallel()
	s := serve(t, short)
	c := dial(t, s.addr)
	body := `{"email":"stall@example.com","password":"correct horse battery staple"}`
	fmt.Fprintf(c, "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)/2])
	got := closedByServer(t, c)
	if strings.HasPrefix(string(got), "HTTP/1.1 2") {
		t.Errorf("a half-sent body was answered %q", got)
	}
}

func TestClientThatNeverReadsIsCutOff(t *testing.T) {
	t.Parallel()
	s := serve(t, func(c *config.Config) {
		c.WriteTimeout = 2 * time.Second
		c.MaxPageBytes = 1 << 30
	})
	token := s.token(t)
	var sess struct {
		ID string `json:"id"`
	}
	s.postJSON(t, "/v1/sessions", token, `{"title":"big"}`, http.StatusCreated, &sess)
	// The ~14 MB page (more than the sockets buffer) is stored through the service, not posted:
	// 900 KB posts against a 2 s write deadline would make the setup itself race the clock.
	const messages, size = 16, 900 << 10
	userID, sessionID := subject(t, token), uuid.MustParse(sess.ID)
	content, _ := json.Marshal(strings.Repeat("z", size))
	for range messages {
		if _, err := s.app.Workspace.CreateMessage(t.Context(), userID, sessionID, workspace.NewMessage{Role: "user", Content: content}); err != nil {
			t.Fatal(err)
		}
	}
	session := sess.ID
	// A client with a tiny receive window that asks for the page and never reads it.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /v1/sessions/%s/messages?limit=200 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", session, token)
	// The request is seen in flight first (on a loaded machine the server may not have read it
	// yet, and a gauge still at zero would end the wait below at once) ...
	deadline := time.Now().Add(guard)
	for requestsInFlight(t, s) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the request was not in flight after %v", guard)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// ... then the handler ends (its write fails at the deadline) although the client never read.
	deadline = time.Now().Add(guard)
	for requestsInFlight(t, s) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the handler still writes to a client that does not read after %v", guard)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And the connection is gone: reading now ends before the whole page arrived.
	got := closedByServer(t, c)
	if len(got) >= messages*size {
		t.Errorf("the client received the whole page (%d bytes) after the write deadline", len(got))
	}
}

// subject is the user id an access token was issued to (its `sub` claim; the server verified it).
func subject(t *testing.T, token string) uuid.UUID {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Sub string `json:"sub"`
	}
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		t.Fatalf("token payload: %v", err)
	}
	return uuid.MustParse(claims.Sub)
}

// requestsInFlight reads the server's in-flight gauge.
func requestsInFlight(t *testing.T, s served) float64 {
	t.Helper()
	mfs, err := s.app.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "http_requests_in_flight" {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
			return sum
		}
	}
	t.Fatal("no http_requests_in_flight gauge")
	return 0
}

func TestStreamOutlivesTheWriteTimeoutWhileTheClientReads(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewFakeAnthropic(t)
	s := serve(t, func(c *config.Config) {
		short(c)
		c.StreamKeepAlive = time.Hour // only the chunks themselves keep the stream writing
		c.AnthropicBaseURL, c.AnthropicAPIKey, c.LLMRetryBase = fake.URL, "sk-ant-test", time.Millisecond
	})
	token := s.token(t)
	words := strings.Fields(strings.Repeat("tick ", 12))
	stream := llmtest.TextStream("msg_long", "claude-sonnet-4-5", words...)
	stream.Delay = 100 * time.Millisecond // ≈2 s in all, several write timeouts
	fake.Enqueue(stream)
	req, _ := http.NewRequest(http.MethodPost, s.url("/v1/chat/completions"),
		strings.NewReader(`{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"count"}]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var last string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			last = line
		}
	}
	if err := sc.Err(); err != nil || last != "data: [DONE]" {
		t.Fatalf("stream ended with %q, %v after %v", last, err, time.Since(start))
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("the stream took %v; it must outlast the 300 ms write timeout to prove anything", took)
	}
}

func TestConnectionsPerIPAreCapped(t *testing.T) {
	t.Parallel()
	s := serve(t, func(c *config.Config) { c.MaxConnsPerIP = 2 })
	a, b := dial(t, s.addr), dial(t, s.addr)
	third := dial(t, s.addr)
	closedByServer(t, third) // the N+1th is closed without an answer
	for _, c := range []net.Conn{a, b} {
		if status := health(t, c); status != http.StatusOK {
			t.Errorf("a connection within the cap got %d", status)
		}
	}
	_ = a.Close()
	deadline := time.Now().Add(guard)
	for { // a's slot comes back once the server has seen it close
		c := dial(t, s.addr)
		if status := health(t, c); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's slot never came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTrustedProxyIsNotCapped(t *testing.T) {
	t.Parallel()
	s := serve(t, func(c *config.Config) {
		c.MaxConnsPerIP = 1
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	for _, c := range []net.Conn{dial(t, s.addr), dial(t, s.addr), dial(t, s.addr)} {
		if status := health(t, c); status != http.StatusOK {
			t.Errorf("a connection from the trusted proxy got %d", status)
		}
	}
}

// health sends GET /health on c and returns the status (0 when the connection is closed).
func health(t *testing.T, c net.Conn) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(guard))
	if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

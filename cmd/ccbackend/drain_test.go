package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// instance is a real `ccbackend serve` process.
type instance struct {
	base string
	cmd  *exec.Cmd
	out  *bytes.Buffer
	exit chan error
}

// startInstance runs the test binary as `ccbackend serve` with env on a free port and waits until
// it is healthy.
func startInstance(t *testing.T, env ...string) *instance {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "CCB_TEST_AS_MAIN=1", "CCB_TEST_ARGS=serve", "CCB_ADDR="+addr), env...)
	in := &instance{base: "http://" + addr, cmd: cmd, out: &bytes.Buffer{}, exit: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = in.out, in.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.exit <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitHealthy(t, in.base)
	return in
}

// do sends one request through the validating client and reads the whole answer.
func do(t *testing.T, c *http.Client, method, url, body, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// SIGTERM on one of two instances: the chat stream open on it runs to its [DONE], it takes no new
// connections and exits 0 within CCB_SHUTDOWN_TIMEOUT, and the other instance serves throughout.
func TestSIGTERMDrainsStreamsWhileAnotherInstanceServes(t *testing.T) {
	fake := llmtest.NewFakeAnthropic(t)
	words := []string{"one ", "two ", "three ", "four ", "five ", "six ", "seven ", "eight"}
	slow := llmtest.TextStream("msg_drain", "claude-sonnet-4-5", words...)
	slow.Delay = 250 * time.Millisecond // ≈2.5 s of stream: SIGTERM lands in the middle
	fake.Enqueue(slow)
	shared := []string{
		"DATABASE_URL=" + testutil.NewDatabase(t), "CCB_REDIS_PREFIX=" + testutil.NewRedisPrefix(t),
		"CCB_METRICS_ADDR=off", "CCB_MIGRATE_ON_START=false", "CCB_BCRYPT_COST=4", "CCB_SHUTDOWN_TIMEOUT=20s",
		"ANTHROPIC_BASE_URL=" + fake.URL, "ANTHROPIC_API_KEY=sk-ant-test-secret",
	}
	a := startInstance(t, append(shared, "CCB_BLOB_URL=file://"+t.TempDir())...)
	b := startInstance(t, append(shared, "CCB_BLOB_URL=file://"+t.TempDir())...)
	client := testutil.NewValidatingClient(t).HTTP

	resp, raw := do(t, client, http.MethodPost, b.base+"/v1/auth/register", `{"email":"drain@example.com","password":"correct horse battery staple"}`, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register on B = %d %s", resp.StatusCode, raw)
	}
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &tokens); err != nil || tokens.AccessToken == "" {
		t.Fatalf("tokens %s", raw)
	}

	req, err := http.NewRequest(http.MethodPost, a.base+"/v1/chat/completions",
		strings.NewReader(`{"model":"claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"count slowly"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	stream, err := client.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("stream on A: %v %v", err, stream)
	}
	defer stream.Body.Close()
	r := bufio.NewReader(stream.Body)
	var first string
	for !strings.Contains(first, "data: ") { // the first event (its id line, then its data)
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream on A before its first event: %q, %v", first, err)
		}
		first += line
	}

	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// A closes its listener at once; the stream is still being written.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", strings.TrimPrefix(a.base, "http://")); err != nil {
			refused = true
			break
		} else {
			_ = c.Close()
		}
	}
	if !refused {
		t.Errorf("A still accepts connections 5 s after SIGTERM")
	}
	// B serves new requests while A drains.
	served := 0
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		rest <- string(b)
	}()
	var tail string
wait:
	for {
		select {
		case tail = <-rest:
			break wait
		default:
			resp, raw := do(t, client, http.MethodGet, b.base+"/v1/auth/profile", "", tokens.AccessToken)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("B during A's drain = %d %s", resp.StatusCode, raw)
			}
			served++
			time.Sleep(50 * time.Millisecond) // paced: well under the default rate limit
		}
	}
	whole := first + tail
	if !strings.HasSuffix(strings.TrimSpace(whole), "data: [DONE]") || !strings.Contains(whole, `"finish_reason":"stop"`) {
		t.Fatalf("the stream on A did not complete normally:\n%s\n--- A's log:\n%s", whole, a.out)
	}
	for _, w := range words {
		if !strings.Contains(whole, strings.TrimSpace(w)) {
			t.Errorf("the drained stream lacks %q", w)
		}
	}
	if served == 0 {
		t.Error("no request reached B while A drained")
	}
	select {
	case err := <-a.exit:
		if err != nil {
			t.Errorf("A exited with %v\n%s", err, a.out)
		}
	case <-time.After(20 * time.Second): // CCB_SHUTDOWN_TIMEOUT
		t.Fatalf("A did not exit within CCB_SHUTDOWN_TIMEOUT\n%s", a.out)
	}
	resp, raw = do(t, client, http.MethodGet, b.base+"/v1/auth/profile", "", tokens.AccessToken)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("B after A exited = %d %s", resp.StatusCode, raw)
	}
	t.Logf("B answered %d requests while A drained", served)
}

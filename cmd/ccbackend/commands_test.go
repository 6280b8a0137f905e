package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// errReader fails every read, like a closed or broken stdin.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("stdin is broken") }

// syncBuffer is a bytes.Buffer the server's logger and the test may use at once.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

// serveEnv is the environment of an in-process `serve` on addr against a fresh database.
func serveEnv(t *testing.T, addr string) map[string]string {
	t.Helper()
	return map[string]string{
		"CCB_ADDR": addr, "CCB_METRICS_ADDR": "off", "DATABASE_URL": testutil.NewDatabase(t),
		"REDIS_URL": testutil.BaseConfig(t).RedisURL, "CCB_REDIS_PREFIX": testutil.NewRedisPrefix(t),
	}
}

// `serve` in this process: it migrates, answers, and returns nil once its context ends (the
// signal handler's context in production), having logged start and stop.
func TestServeRunsUntilCancelled(t *testing.T) {
	addr := freeAddr(t)
	env := serveEnv(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, nil, out) }()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve returned %v before it was cancelled\n%s", err, out.String())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not become healthy\n%s", out.String())
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not return after cancel\n%s", out.String())
	}
	for _, want := range []string{`"msg":"starting"`, `"msg":"stopped"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %s log line:\n%s", want, out.String())
		}
	}
}

// A serve that cannot start reports why and leaves nothing running: the listen address is
// taken, or the database cannot be reached.
func TestServeStartupFailures(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	env := serveEnv(t, busy.Addr().String())
	err = run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, nil, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("serve on a taken address = %v", err)
	}

	env = serveEnv(t, freeAddr(t))
	env["DATABASE_URL"] = "postgres://postgres@" + freeAddr(t) + "/nothing?sslmode=disable&connect_timeout=2"
	env["CCB_READY_TIMEOUT"] = "2s"
	if err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, nil, &bytes.Buffer{}); err == nil {
		t.Error("serve without a reachable database succeeded")
	}
}

func TestCommandLineErrors(t *testing.T) {
	none := func(string) string { return "" }
	noDB := map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"}
	badConfig := map[string]string{"CCB_LOG_LEVEL": "loud"}
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		stdin *strings.Reader
		usage bool
		want  string
	}{
		{"migrate sideways", []string{"migrate", "sideways"}, nil, nil, true, `unknown migrate command "sideways"`},
		{"migrate down zero", []string{"migrate", "down", "0"}, nil, nil, true, "positive number of steps"},
		{"migrate down words", []string{"migrate", "down", "all"}, nil, nil, true, "positive number of steps"},
		{"migrate with bad config", []string{"migrate", "up"}, badConfig, nil, false, "CCB_LOG_LEVEL"},
		{"migrate without a database", []string{"migrate", "up"}, noDB, nil, false, ""},
		{"users without a command", []string{"users"}, nil, nil, true, "users needs create-admin"},
		{"users with an unknown flag", []string{"users", "create-admin", "--email", "a@b.c", "--password-stdin", "--sudo"}, nil, nil, true, "create-admin --email"},
		{"users with bad config", []string{"users", "create-admin", "--email", "a@b.c", "--password-stdin"}, badConfig, strings.NewReader("pw\n"), false, "CCB_LOG_LEVEL"},
		{"users without a database", []string{"users", "create-admin", "--email", "a@b.c", "--password-stdin"}, noDB, strings.NewReader("a long admin passphrase\n"), false, ""},
		{"serve with bad config", []string{"serve"}, badConfig, nil, false, "CCB_LOG_LEVEL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			getenv := none
			if tc.env != nil {
				getenv = func(k string) string { return tc.env[k] }
			}
			stdin := tc.stdin
			if stdin == nil {
				stdin = strings.NewReader("")
			}
			err := run(context.Background(), tc.args, getenv, stdin, &bytes.Buffer{})
			if err == nil || errors.Is(err, errUsage) != tc.usage || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%v) = %v; want an error mentioning %q (usage error: %t)", tc.args, err, tc.want, tc.usage)
			}
		})
	}
	err := run(context.Background(), []string{"users", "create-admin", "--email", "a@b.c", "--password-stdin"}, none, errReader{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "reading the password") {
		t.Errorf("users with a broken stdin = %v", err)
	}
	var out bytes.Buffer
	for _, help := range []string{"help", "-h", "--help"} {
		out.Reset()
		if err := run(context.Background(), []string{help}, none, nil, &out); err != nil || out.String() != usage {
			t.Errorf("%s printed %q, %v", help, out.String(), err)
		}
	}
}

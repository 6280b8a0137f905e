package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestMain lets the test binary act as the real command (CCB_TEST_AS_MAIN=1), so the shutdown test
// can signal a real process.
func TestMain(m *testing.M) {
	if os.Getenv("CCB_TEST_AS_MAIN") == "1" {
		os.Args = append([]string{"ccbackend"}, strings.Fields(os.Getenv("CCB_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not become healthy")
}

// TestSIGTERMLetsInFlightRequestsFinish starts the real process, makes /ready slow by delaying
// Redis's answers, sends SIGTERM while the request is in flight, and expects the request to
// complete and the process to exit 0.
func TestSIGTERMLetsInFlightRequestsFinish(t *testing.T) {
	base := testutil.BaseConfig(t)
	redisURL, err := url.Parse(base.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testutil.NewDelayProxy(t, redisURL.Host)
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(),
		"CCB_TEST_AS_MAIN=1", "CCB_TEST_ARGS=serve",
		"CCB_ADDR="+addr, "CCB_METRICS_ADDR=off",
		"DATABASE_URL="+testutil.NewDatabase(t),
		"REDIS_URL=redis://"+proxy.Addr+"/0",
		"CCB_MIGRATE_ON_START=false", "CCB_READY_TIMEOUT=5s",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitHealthy(t, "http://"+addr)

	proxy.SetDelay(time.Second)
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/ready")
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	time.Sleep(300 * time.Millisecond) // the request is now waiting on Redis
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.status != http.StatusOK {
		t.Errorf("in-flight /ready during shutdown: status %d, err %v", r.status, r.err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Errorf("process exit: %v\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("process did not exit after SIGTERM\n%s", out.String())
	}
	if !strings.Contains(out.String(), `"msg":"shutting down"`) {
		t.Errorf("no shutdown log line:\n%s", out.String())
	}
}

func TestRunRejectsBadInvocations(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no command", nil, nil, "no command"},
		{"unknown command", []string{"fly"}, nil, `unknown command "fly"`},
		{"migrate without action", []string{"migrate"}, nil, "migrate needs"},
		{"bad config names the variable", []string{"serve"}, map[string]string{"CCB_MAX_BODY_BYTES": "lots"}, "CCB_MAX_BODY_BYTES"},
		{"bad listen address", []string{"serve"}, map[string]string{"CCB_ADDR": "8080"}, "CCB_ADDR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			err := run(context.Background(), tc.args, getenv, strings.NewReader(""), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%v) = %v, want an error mentioning %q", tc.args, err, tc.want)
			}
		})
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, nil, &out); err != nil || strings.TrimSpace(out.String()) != version {
		t.Errorf("version printed %q, err %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"fly"}, func(string) string { return "" }, nil, &out); !errors.Is(err, errUsage) {
		t.Errorf("unknown command is not a usage error: %v", err)
	}
}

func TestMigrateCommand(t *testing.T) {
	dbURL := testutil.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": dbURL}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "version"}, getenv, nil, &out); err != nil {
		t.Fatal(err)
	}
	before := out.String()
	if !strings.HasPrefix(before, "version ") || strings.Contains(before, "dirty=true") {
		t.Fatalf("migrate version = %q", before)
	}
	out.Reset()
	if err := run(context.Background(), []string{"migrate", "down", "1"}, getenv, nil, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() == before {
		t.Errorf("migrate down did not change the version (%q)", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"migrate", "up"}, getenv, nil, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != before {
		t.Errorf("after down+up version = %q, want %q", out.String(), before)
	}
}

func TestUsersCreateAdmin(t *testing.T) {
	dbURL := testutil.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": dbURL, "CCB_REDIS_PREFIX": testutil.NewRedisPrefix(t), "CCB_BCRYPT_COST": "4"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	args := []string{"users", "create-admin", "--email", "ops@example.com", "--password-stdin"}
	if err := run(context.Background(), args, getenv, strings.NewReader("a long admin passphrase\n"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "created admin ops@example.com") || strings.Contains(out.String(), "passphrase") {
		t.Errorf("output %q", out.String())
	}
	// The same email again is refused; a weak password is refused.
	if err := run(context.Background(), args, getenv, strings.NewReader("a long admin passphrase\n"), &out); err == nil {
		t.Error("a second admin with the same email was created")
	}
	weak := []string{"users", "create-admin", "--email", "ops2@example.com", "--password-stdin"}
	if err := run(context.Background(), weak, getenv, strings.NewReader("password\n"), &out); err == nil {
		t.Error("a common password was accepted")
	}
	if err := run(context.Background(), []string{"users", "create-admin", "--email", "x@example.com"}, getenv, nil, &out); !errors.Is(err, errUsage) {
		t.Errorf("missing --password-stdin: %v", err)
	}
}

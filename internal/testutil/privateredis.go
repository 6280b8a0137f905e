package testutil

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// PrivateRedis is a redis-server of the test's own on a free loopback port, without
// persistence, so a test can stop and restart it (on the same port) without disturbing anyone.
type PrivateRedis struct {
	URL  string
	Addr string

	t    testing.TB
	bin  string
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// StartRedis starts a private redis-server, stopped when t ends. It needs Debian's
// `redis-server` (and `redis-cli` for Stop).
func StartRedis(t testing.TB) *PrivateRedis {
	t.Helper()
	r := &PrivateRedis{t: t, bin: needTool(t, "redis-server", "redis-server"), port: freePort(t), dir: sharedTempDir(t, "ccb-redis-")}
	needTool(t, "redis-cli", "redis-tools")
	r.Addr = "127.0.0.1:" + strconv.Itoa(r.port)
	r.URL = "redis://" + r.Addr + "/0"
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.cmd != nil {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
	})
	r.Start()
	return r
}

// Start (re)starts the server on the same port and waits until it answers PING.
func (r *PrivateRedis) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	cmd := exec.Command(r.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(r.port), "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(r.dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("testutil: start redis-server: %v", err)
	}
	r.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("testutil: redis-server on %s did not answer: %v", r.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down as an operator would (`redis-cli shutdown nosave`): connections
// drop and every key is gone.
func (r *PrivateRedis) Stop() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	// redis-cli reports the dropped connection of a successful SHUTDOWN as an error: the exit
	// of the process is the proof.
	_ = exec.Command("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(r.port), "shutdown", "nosave").Run()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
		r.t.Errorf("testutil: redis-server on %s ignored SHUTDOWN; killed", r.Addr)
	}
	r.cmd = nil
}

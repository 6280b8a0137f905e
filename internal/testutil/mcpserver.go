package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MCPServer is a real @modelcontextprotocol/server-everything (pinned in package.json, installed by
// scripts/npm-deps.sh) serving one HTTP transport on a free 127.0.0.1 port. It listens on all
// interfaces; tests reach it through URL (127.0.0.1) only. It gets no secrets: its get-env tool
// prints its environment.
type MCPServer struct {
	t      testing.TB
	mode   string // the server's argument: streamableHttp | sse
	Port   int
	URL    string // http://127.0.0.1:PORT/mcp or …/sse
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *logBuffer
}

// MCPServerBinary is the path of mcp-server-everything in node_modules; the test is skipped with
// a pointer to the install script when it is missing.
func MCPServerBinary(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(filepath.Dir(file), "..", "..", "node_modules", ".bin", "mcp-server-everything")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("testutil: %s missing: run scripts/npm-deps.sh", bin)
	}
	abs, _ := filepath.Abs(bin)
	return abs
}

// MCPStdioCommand is the command and arguments of server-everything over stdio, and the plain
// environment to run it with (PATH only: node must be found, nothing else is its business).
func MCPStdioCommand(t testing.TB) (command string, args []string, env []string) {
	return MCPServerBinary(t), []string{"stdio"}, []string{"PATH=" + os.Getenv("PATH")}
}

// StartMCPServer starts server-everything for transport ("streamable_http" or "sse", as the spec
// spells them), waits until it accepts connections, and kills it when t ends.
func StartMCPServer(t testing.TB, transport string) *MCPServer {
	t.Helper()
	modes := map[string]struct{ arg, path string }{
		"streamable_http": {"streamableHttp", "/mcp"},
		"sse":             {"sse", "/sse"},
	}
	m, ok := modes[transport]
	if !ok {
		t.Fatalf("testutil: StartMCPServer: no HTTP transport %q", transport)
	}
	s := &MCPServer{t: t, mode: m.arg, Port: freePort(t), logs: &logBuffer{}}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d%s", s.Port, m.path)
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// Kill stops the server (the whole process group) and waits for it to exit.
func (s *MCPServer) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

// Restart kills the server and starts a new one on the same port: every session it knew is gone.
func (s *MCPServer) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

func (s *MCPServer) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(MCPServerBinary(s.t), s.mode)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), fmt.Sprintf("PORT=%d", s.Port)}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("testutil: start server-everything: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	addr := fmt.Sprintf("127.0.0.1:%d", s.Port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		select {
		case <-exited:
			s.t.Fatalf("testutil: server-everything %s exited early:\n%s", s.mode, s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("testutil: server-everything %s not listening on %s after 30s:\n%s", s.mode, addr, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort asks the kernel for a port on 127.0.0.1 that is free now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testutil: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// logBuffer collects a child's output for failure messages.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) < 1<<20 {
		b.buf = append(b.buf, p...)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

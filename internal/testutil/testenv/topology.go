package testenv

import (
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// RedisTopology is a private Redis deployment started by scripts/redis-cluster.sh for one test:
// Env holds the service's settings for it (CCB_REDIS_MODE, CCB_REDIS_ADDRS, and for a sentinel
// CCB_REDIS_MASTER and REDIS_URL of the master; CCB_TEST_REDIS_REPLICA is the master's replica).
type RedisTopology struct {
	Env map[string]string
}

// Addrs are the cluster's nodes or the sentinels.
func (r RedisTopology) Addrs() []string { return strings.Split(r.Env["CCB_REDIS_ADDRS"], ",") }

// MasterAddr is a sentinel topology's master (host:port of its REDIS_URL).
func (r RedisTopology) MasterAddr() string {
	u, err := url.Parse(r.Env["REDIS_URL"])
	if err != nil {
		return ""
	}
	return u.Host
}

// StartRedisCluster starts a 3-master Redis Cluster on free loopback ports and stops it when t
// ends. It fails (never skips) when redis-server or redis-cli is missing.
func StartRedisCluster(t testing.TB) RedisTopology { t.Helper(); return startTopology(t, "start") }

// StartRedisSentinel starts a master, its replica and a sentinel monitoring them as "ccb"
// (quorum 1, down after 2 s: shutting the master down makes it promote the replica).
func StartRedisSentinel(t testing.TB) RedisTopology {
	t.Helper()
	return startTopology(t, "start-sentinel")
}

func startTopology(t testing.TB, command string) RedisTopology {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "redis-cluster.sh")
	dir := filepath.Join(t.TempDir(), "redis")
	// Registered first so that it also stops what a start that failed halfway started.
	t.Cleanup(func() {
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("testenv: stop redis topology: %v: %s", err, out)
		}
	})
	out, err := exec.Command(script, command, dir).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("testenv: %s %s: %v: %s", script, command, err, msg)
	}
	topo := RedisTopology{Env: map[string]string{}}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		line, _, _ = strings.Cut(line, "#")
		for _, kv := range strings.Fields(strings.TrimPrefix(line, "export ")) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				topo.Env[k] = v
			}
		}
	}
	if topo.Env["CCB_REDIS_ADDRS"] == "" {
		t.Fatalf("testenv: %s %s printed no addresses: %q", script, command, out)
	}
	return topo
}

package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/testutil"
	"github.com/ccbackend/ccbackend/internal/testutil/testenv"
)

// The service runs on a real Redis Cluster and behind a real Sentinel, each started by the
// test: a logout on one instance rejects the token on another (the revocation pipeline and
// denylist), the auth rate limit is counted there (a GCRA script), and the keys land in the
// topology — on several masters of the cluster.
func TestRedisTopologies(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func(testing.TB) testenv.RedisTopology{
		config.RedisCluster:  testenv.StartRedisCluster,
		config.RedisSentinel: testenv.StartRedisSentinel,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			topo := start(t)
			s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
				c.Redis = config.Redis{Mode: name, Addrs: topo.Addrs(), Master: topo.Env["CCB_REDIS_MASTER"]}
				if u := topo.Env["REDIS_URL"]; u != "" {
					c.RedisURL = u
				}
				c.RateLimitAuth = testutil.RatePolicy{Limit: 4, Period: time.Hour}
			}))
			checkClientKind(t, s.App.Redis, name)
			a := s.Register(t, "topology@example.com")
			b := s.Login(t, a.Email, a.Password)
			if resp, body := s.Do(t, http.MethodPost, "/v1/auth/logout", nil, a.Bearer()); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("logout = %d %s", resp.StatusCode, body)
			}
			twin := s.Twin(t)
			if resp, _ := twin.Do(t, http.MethodGet, "/v1/auth/profile", nil, a.Bearer()); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("the other instance accepted a logged-out token: %d", resp.StatusCode)
			}
			if resp, _ := twin.Do(t, http.MethodGet, "/v1/auth/profile", nil, b.Bearer()); resp.StatusCode != http.StatusOK {
				t.Errorf("the other instance rejected a live token: %d", resp.StatusCode)
			}
			// Register and login spent two units of the auth policy: two more logins pass.
			for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
				if resp, body := login(t, s, a.Email, a.Password); resp.StatusCode != want {
					t.Fatalf("auth call %d = %d %s, want %d", i+3, resp.StatusCode, body, want)
				}
			}
			keys, err := testenv.Keys(t.Context(), s.App.Redis, s.App.Config.RedisPrefix+"*")
			if err != nil || !hasKeys(keys, "rl:auth:", "jti:", "fam:") {
				t.Errorf("keys in the topology: %v (%v)", keys, err)
			}
			if c, ok := s.App.Redis.(*redis.ClusterClient); ok && mastersHoldingKeys(t, c) < 2 {
				t.Errorf("every key on one master: the test proves nothing about slots (%v)", keys)
			}
		})
	}
}

// checkClientKind asserts the app holds the client of its mode.
func checkClientKind(t *testing.T, rdb redis.UniversalClient, mode string) {
	t.Helper()
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		if mode != config.RedisCluster {
			t.Fatalf("a cluster client in %s mode", mode)
		}
	case *redis.Client:
		if mode != config.RedisSentinel || c.Options().Addr != "FailoverClient" {
			t.Fatalf("client %q in %s mode", c.Options().Addr, mode)
		}
	default:
		t.Fatalf("client %T", rdb)
	}
}

// mastersHoldingKeys counts the cluster's masters that hold at least one key.
func mastersHoldingKeys(t *testing.T, c *redis.ClusterClient) int {
	t.Helper()
	var n atomic.Int32
	err := c.ForEachMaster(t.Context(), func(ctx context.Context, node *redis.Client) error {
		size, err := node.DBSize(ctx).Result()
		if size > 0 {
			n.Add(1)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return int(n.Load())
}

func hasKeys(keys []string, parts ...string) bool {
	for _, p := range parts {
		found := false
		for _, k := range keys {
			found = found || strings.Contains(k, p)
		}
		if !found {
			return false
		}
	}
	return true
}

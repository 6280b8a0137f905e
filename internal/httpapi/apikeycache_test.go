package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// cachedOn uses key on s until s answers it from its cache (the first use reads PostgreSQL and
// stores it), so a later refusal proves the cached entry was dropped, not merely absent.
func cachedOn(t *testing.T, s *testutil.Server, key map[string]string) {
	t.Helper()
	for range 2 {
		if got := status(t, s, key); got != http.StatusOK {
			t.Fatalf("key before the change = %d", got)
		}
	}
	if live, n := s.App.Accounts.APIKeyCacheState(); !live || n == 0 {
		t.Fatalf("key not cached: live=%v entries=%d", live, n)
	}
}

// waitCacheLive waits until s's cache serves (its invalidation subscription confirmed).
func waitCacheLive(t *testing.T, s *testutil.Server, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if live, _ := s.App.Accounts.APIKeyCacheState(); live == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("API key cache live never became %v", want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every change on A that ends or alters a key B holds in its cache is refused (or seen) on B's
// very next request.
func TestAPIKeyCacheInvalidatedOnEveryInstance(t *testing.T) {
	t.Parallel()
	all := instances(t, 2)
	a, b := all[0], all[1]
	waitCacheLive(t, a, true)
	waitCacheLive(t, b, true)
	admin := a.Admin(t, "cache-admin@example.com")
	cases := []struct {
		name   string
		change func(t *testing.T, owner testutil.Session, keyID string) (*http.Response, []byte)
		want   int // B's answer to the key afterwards
	}{
		{"revoke", func(t *testing.T, o testutil.Session, id string) (*http.Response, []byte) {
			return a.Do(t, http.MethodDelete, "/v1/auth/api-keys/"+id, nil, o.Bearer())
		}, http.StatusUnauthorized},
		{"rotate without grace", func(t *testing.T, o testutil.Session, id string) (*http.Response, []byte) {
			return a.Do(t, http.MethodPost, "/v1/auth/api-keys/"+id+"/rotate", nil, o.Bearer())
		}, http.StatusUnauthorized},
		{"user deleted", func(t *testing.T, o testutil.Session, _ string) (*http.Response, []byte) {
			return a.Do(t, http.MethodDelete, "/v1/auth/profile", fmt.Sprintf(`{"password":%q}`, o.Password), o.Bearer())
		}, http.StatusUnauthorized},
		{"user disabled", func(t *testing.T, o testutil.Session, _ string) (*http.Response, []byte) {
			return a.Do(t, http.MethodPatch, "/v1/admin/users/"+o.UserID, `{"is_active":false}`, admin.Bearer())
		}, http.StatusUnauthorized},
		{"password changed, keys revoked", func(t *testing.T, o testutil.Session, _ string) (*http.Response, []byte) {
			return a.Do(t, http.MethodPost, "/v1/auth/change-password",
				fmt.Sprintf(`{"current_password":%q,"new_password":"another long passphrase","revoke_api_keys":true}`, o.Password), o.Bearer())
		}, http.StatusUnauthorized},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			owner := a.Register(t, fmt.Sprintf("cache-%d@example.com", i))
			k := createKey(t, a, owner, `{"name":"ci"}`)
			key := map[string]string{"X-API-Key": k.Secret}
			cachedOn(t, b, key)
			if resp, raw := tc.change(t, owner, k.ApiKey.Id.String()); resp.StatusCode >= 300 {
				t.Fatalf("change on A = %d %s", resp.StatusCode, raw)
			}
			if got := status(t, b, key); got != tc.want {
				t.Fatalf("B after the change = %d, want %d", got, tc.want)
			}
		})
	}
}

// A demoted administrator's key loses the admin role on the other instance at once.
func TestAPIKeyCacheRoleChangeReachesEveryInstance(t *testing.T) {
	t.Parallel()
	all := instances(t, 2)
	a, b := all[0], all[1]
	waitCacheLive(t, b, true)
	root := a.Admin(t, "cache-root@example.com")
	other := a.Admin(t, "cache-demoted@example.com")
	k := createKey(t, a, other, `{"name":"ops"}`)
	key := map[string]string{"X-API-Key": k.Secret}
	for range 2 {
		if resp, raw := b.Do(t, http.MethodGet, "/v1/admin/users", nil, key); resp.StatusCode != http.StatusOK {
			t.Fatalf("admin list before = %d %s", resp.StatusCode, raw)
		}
	}
	if resp, raw := a.Do(t, http.MethodPatch, "/v1/admin/users/"+other.UserID, `{"roles":["user"]}`, root.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("demote = %d %s", resp.StatusCode, raw)
	}
	resp, raw := b.Do(t, http.MethodGet, "/v1/admin/users", nil, key)
	decodeProblem(t, resp, raw, http.StatusForbidden)
}

// A cached key is refused once it expires, though its cache entry's TTL has not run out.
func TestAPIKeyCacheHonoursExpiry(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Now().UTC()}
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.MFA.Clock = clock.Now
		c.APIKeyCache.TTL = 10 * time.Minute
	}))
	waitCacheLive(t, s, true)
	owner := s.Register(t, "cache-expiry@example.com")
	k := createKey(t, s, owner, fmt.Sprintf(`{"name":"short","expires_at":%q}`, clock.Now().Add(2*time.Minute).Format("2006-01-02T15:04:05.000Z")))
	key := map[string]string{"X-API-Key": k.Secret}
	cachedOn(t, s, key)
	clock.Advance(3 * time.Minute) // past the expiry, well within the 10-minute TTL
	resp, raw := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, key)
	decodeProblem(t, resp, raw, http.StatusUnauthorized)
}

// With its invalidation subscription down, an instance stops answering from its cache: a
// revocation it cannot hear about (written straight to PostgreSQL here) is still refused, a good
// key still works, and once Redis is back the cache serves again from empty.
func TestAPIKeyCacheBypassedWhileSubscriptionIsDown(t *testing.T) {
	t.Parallel()
	rds := testutil.StartRedis(t)
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.RedisURL = rds.URL }))
	waitCacheLive(t, s, true)
	owner := s.Register(t, "cache-down@example.com")
	doomed := map[string]string{"X-API-Key": createKey(t, s, owner, `{"name":"doomed"}`).Secret}
	good := map[string]string{"X-API-Key": createKey(t, s, owner, `{"name":"good"}`).Secret}
	cachedOn(t, s, doomed)
	cachedOn(t, s, good)

	rds.Stop()
	waitCacheLive(t, s, false)
	if _, n := s.App.Accounts.APIKeyCacheState(); n != 0 {
		t.Fatalf("cache holds %d entries while its subscription is down", n)
	}
	if _, err := s.App.Store.Pool.Exec(context.Background(), `UPDATE api_keys SET revoked_at = now() WHERE name = 'doomed'`); err != nil {
		t.Fatal(err)
	}
	if got := status(t, s, doomed); got != http.StatusUnauthorized {
		t.Fatalf("revoked key while the subscription is down = %d", got)
	}
	if got := status(t, s, good); got != http.StatusOK {
		t.Fatalf("good key while the subscription is down = %d", got)
	}

	rds.Start()
	waitCacheLive(t, s, true)
	cachedOn(t, s, good)
	if got := status(t, s, doomed); got != http.StatusUnauthorized {
		t.Fatalf("revoked key after reconnecting = %d", got)
	}
}

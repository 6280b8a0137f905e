package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "keys@example.com")
	eve := s.Register(t, "eve@example.com")
	k := createKey(t, s, owner, `{"name":"laptop"}`)
	if !strings.HasPrefix(k.Secret, "ccb_") || len(k.Secret) < 40 || !strings.HasPrefix(k.Secret, k.ApiKey.Prefix) {
		t.Fatalf("secret %q prefix %q", k.Secret, k.ApiKey.Prefix)
	}
	// Both ways of presenting the key authenticate as its owner.
	for name, h := range map[string]map[string]string{
		"X-API-Key":    {"X-API-Key": k.Secret},
		"Bearer ccb_…": {"Authorization": "Bearer " + k.Secret},
	} {
		if got := status(t, s, h); got != http.StatusOK {
			t.Errorf("%s = %d", name, got)
		}
	}
	for name, h := range map[string]map[string]string{
		"wrong secret": {"X-API-Key": k.Secret + "x"},
		"no prefix":    {"X-API-Key": "sk-" + k.Secret},
	} {
		if got := status(t, s, h); got != http.StatusUnauthorized {
			t.Errorf("%s = %d, want 401", name, got)
		}
	}

	resp, raw := s.Do(t, http.MethodGet, "/v1/auth/api-keys", nil, owner.Bearer())
	list := decodeInto[api.APIKeyList](t, resp, raw, http.StatusOK)
	if strings.Contains(string(raw), k.Secret) || len(list.Data) == 0 || list.Data[0].LastUsedAt == nil {
		t.Fatalf("list: want no secret and last_used_at set: %s", raw)
	}
	// Another user's key is a 404, the same as a missing one.
	for _, path := range []string{"/v1/auth/api-keys/" + k.ApiKey.Id.String(), "/v1/auth/api-keys/" + uuid.NewString()} {
		resp, body := s.Do(t, http.MethodDelete, path, nil, eve.Bearer())
		decodeProblem(t, resp, body, http.StatusNotFound)
		resp, body = s.Do(t, http.MethodPost, path+"/rotate", nil, eve.Bearer())
		decodeProblem(t, resp, body, http.StatusNotFound)
	}
	// Rotation without grace: the old secret stops at once.
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys/"+k.ApiKey.Id.String()+"/rotate", nil, owner.Bearer())
	var rotated api.APIKeySecret
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &rotated) != nil || rotated.Secret == k.Secret {
		t.Fatalf("rotate = %d %s", resp.StatusCode, raw)
	}
	if status(t, s, map[string]string{"X-API-Key": k.Secret}) != http.StatusUnauthorized || status(t, s, map[string]string{"X-API-Key": rotated.Secret}) != http.StatusOK {
		t.Error("rotation without grace: old secret must fail, new must work")
	}
	// Revocation ends the key.
	if resp, _ := s.Do(t, http.MethodDelete, "/v1/auth/api-keys/"+k.ApiKey.Id.String(), nil, owner.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	if got := status(t, s, map[string]string{"X-API-Key": rotated.Secret}); got != http.StatusUnauthorized {
		t.Errorf("revoked key = %d", got)
	}
	resp, raw = s.Do(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"old","expires_at":"2020-01-01T00:00:00Z"}`, owner.Bearer())
	decodeProblem(t, resp, raw, http.StatusBadRequest)
}

func TestAPIKeyRotationGraceAndExpiry(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.APIKeyRotateGrace = time.Hour }))
	owner := s.Register(t, "grace@example.com")
	k := createKey(t, s, owner, `{"name":"ci"}`)
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/api-keys/"+k.ApiKey.Id.String()+"/rotate", nil, owner.Bearer())
	rotated := decodeInto[api.APIKeySecret](t, resp, raw, http.StatusOK)
	if rotated.ApiKey.PreviousSecretValidUntil == nil {
		t.Errorf("rotation response lacks the grace deadline: %s", raw)
	}
	for _, secret := range []string{k.Secret, rotated.Secret} {
		if got := status(t, s, map[string]string{"X-API-Key": secret}); got != http.StatusOK {
			t.Errorf("within grace, secret %s… = %d", secret[:8], got)
		}
	}
	soon := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	short := createKey(t, s, owner, `{"name":"short","expires_at":"`+soon+`"}`)
	if got := status(t, s, map[string]string{"X-API-Key": short.Secret}); got != http.StatusOK {
		t.Fatalf("fresh key = %d", got)
	}
	time.Sleep(1600 * time.Millisecond)
	if got := status(t, s, map[string]string{"X-API-Key": short.Secret}); got != http.StatusUnauthorized {
		t.Errorf("expired key = %d, want 401", got)
	}
}

func TestAPIKeyListPagination(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "pages@example.com")
	want := map[string]bool{}
	for _, n := range []string{"a", "b", "c"} {
		want[createKey(t, s, owner, `{"name":"`+n+`"}`).ApiKey.Id.String()] = true
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		path := "/v1/auth/api-keys?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		resp, raw := s.Do(t, http.MethodGet, path, nil, owner.Bearer())
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			HasMore    bool    `json:"has_more"`
			NextCursor *string `json:"next_cursor"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &list) != nil || pages > 3 {
			t.Fatalf("page %d = %d %s", pages, resp.StatusCode, raw)
		}
		for _, k := range list.Data {
			if seen[k.ID] {
				t.Errorf("key %s on two pages", k.ID)
			}
			seen[k.ID] = true
		}
		if !list.HasMore {
			break
		}
		cursor = *list.NextCursor
	}
	if len(seen) != len(want) {
		t.Errorf("pages held %d keys, want %d", len(seen), len(want))
	}
	resp, raw := s.Do(t, http.MethodGet, "/v1/auth/api-keys?cursor=eyJ9.AAAA", nil, owner.Bearer())
	p := decodeProblem(t, resp, raw, http.StatusBadRequest)
	if p.Code != "invalid_cursor" {
		t.Errorf("tampered cursor code %q", p.Code)
	}
	// A cursor is bound to its owner: another user cannot page through it.
	other := s.Register(t, "other-pages@example.com")
	resp, raw = s.Do(t, http.MethodGet, "/v1/auth/api-keys?limit=1", nil, owner.Bearer())
	first := decodeInto[api.APIKeyList](t, resp, raw, http.StatusOK)
	if first.NextCursor == nil {
		t.Fatalf("a full first page has no next_cursor: %s", raw)
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/auth/api-keys?cursor="+*first.NextCursor, nil, other.Bearer())
	if p := decodeProblem(t, resp, raw, http.StatusBadRequest); p.Code != "invalid_cursor" {
		t.Errorf("another owner's cursor code %q, want invalid_cursor", p.Code)
	}
}

package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

const keysPath = "/v1/auth/api-keys"

// keyIDs lists the ids of the caller's live API keys.
func keyIDs(t *testing.T, s *testutil.Server, owner testutil.Session) []string {
	t.Helper()
	return listIDs(t, s, owner, keysPath+"?limit=200")
}

// listIDs reads the ids of one page of a list.
func listIDs(t *testing.T, s *testutil.Server, owner testutil.Session, path string) []string {
	t.Helper()
	resp, raw := s.Do(t, http.MethodGet, path, nil, owner.Bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list %s = %d %s", path, resp.StatusCode, raw)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(list.Data))
	for i, k := range list.Data {
		ids[i] = k.ID
	}
	return ids
}

const projectsPath = "/v1/projects"

// projectIDs lists the ids of the caller's projects: a create without a secret, so its replays
// repeat the body (API key creates never replay; see apikeys_test.go).
func projectIDs(t *testing.T, s *testutil.Server, owner testutil.Session) []string {
	t.Helper()
	return listIDs(t, s, owner, projectsPath+"?limit=200")
}

// withKey is owner's bearer header plus an Idempotency-Key.
func withKey(owner testutil.Session, key string) map[string]string {
	h := owner.Bearer()
	h["Idempotency-Key"] = key
	return h
}

func TestIdempotentCreateReplays(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "idem@example.com")
	const body = `{"name":"ci"}`

	first, firstRaw := s.Do(t, http.MethodPost, projectsPath, body, withKey(owner, "create-ci-1"))
	if first.StatusCode != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first = %d replayed=%q %s", first.StatusCode, first.Header.Get("Idempotent-Replayed"), firstRaw)
	}
	again, againRaw := s.Do(t, http.MethodPost, projectsPath, body, withKey(owner, "create-ci-1"))
	if again.StatusCode != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry = %d replayed=%q %s", again.StatusCode, again.Header.Get("Idempotent-Replayed"), againRaw)
	}
	if !bytes.Equal(firstRaw, againRaw) {
		t.Errorf("replayed body differs:\n first %s\n again %s", firstRaw, againRaw)
	}
	if got, want := again.Header.Get("Content-Type"), first.Header.Get("Content-Type"); got != want {
		t.Errorf("replayed Content-Type %q, want %q", got, want)
	}
	if again.Header.Get("X-Request-ID") == first.Header.Get("X-Request-ID") {
		t.Error("a replay is a new request and has its own X-Request-ID")
	}
	if ids := projectIDs(t, s, owner); len(ids) != 1 {
		t.Fatalf("after a replayed create the user has %d keys, want 1", len(ids))
	}

	// The same key with another body creates nothing and says why.
	resp, raw := s.Do(t, http.MethodPost, projectsPath, `{"name":"other"}`, withKey(owner, "create-ci-1"))
	if p := decodeProblem(t, resp, raw, http.StatusUnprocessableEntity); p.Code != "idempotency_key_reused" {
		t.Errorf("code %q, want idempotency_key_reused", p.Code)
	}
	if ids := projectIDs(t, s, owner); len(ids) != 1 {
		t.Errorf("a reused key created something: %d projects", len(ids))
	}

	// Keys are per user: another user's identical key is unrelated (and reveals nothing).
	eve := s.Register(t, "eve-idem@example.com")
	resp, raw = s.Do(t, http.MethodPost, projectsPath, body, withKey(eve, "create-ci-1"))
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" || bytes.Equal(raw, firstRaw) {
		t.Fatalf("other user = %d replayed=%q %s", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), raw)
	}
	if ids := projectIDs(t, s, eve); len(ids) != 1 {
		t.Errorf("other user has %d keys, want 1", len(ids))
	}
}

func TestWithoutIdempotencyKeyEveryCreateCounts(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "noidem@example.com")
	for range 2 {
		createKey(t, s, owner, `{"name":"same"}`)
	}
	if ids := keyIDs(t, s, owner); len(ids) != 2 {
		t.Errorf("without Idempotency-Key two creates made %d keys, want 2", len(ids))
	}
}

func TestIdempotencyKeyFormat(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "idemfmt@example.com")
	for name, key := range map[string]string{
		"too long":      strings.Repeat("k", 256),
		"space inside":  "two words",
		"non-ASCII":     "clé",
		"control chars": "a\tb",
	} {
		resp, raw := s.Do(t, http.MethodPost, keysPath, `{"name":"x"}`, withKey(owner, key))
		p := decodeProblem(t, resp, raw, http.StatusBadRequest)
		if firstLocation(p) != "header" || firstPointer(p) != "Idempotency-Key" {
			t.Errorf("%s: errors = %+v, want a pointer to the Idempotency-Key header", name, fieldErrors(p))
		}
	}
	if resp, raw := s.Do(t, http.MethodPost, keysPath, `{"name":"x"}`, withKey(owner, strings.Repeat("k", 255))); resp.StatusCode != http.StatusCreated {
		t.Errorf("255-character key = %d %s", resp.StatusCode, raw)
	}
}

func TestFailedIdempotentCreateIsNotRemembered(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "idemfail@example.com")
	// The handler refuses a key that has already expired: nothing was created, so the key is
	// released and the client may retry, with the same body or a corrected one.
	const past = `{"name":"late","expires_at":"2020-01-01T00:00:00Z"}`
	for range 2 {
		resp, raw := s.Do(t, http.MethodPost, keysPath, past, withKey(owner, "fix-me"))
		decodeProblem(t, resp, raw, http.StatusBadRequest)
		if resp.Header.Get("Idempotent-Replayed") != "" {
			t.Error("a failed request was replayed")
		}
	}
	resp, raw := s.Do(t, http.MethodPost, keysPath, `{"name":"late"}`, withKey(owner, "fix-me"))
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("corrected retry = %d %s", resp.StatusCode, raw)
	}
	if ids := keyIDs(t, s, owner); len(ids) != 1 {
		t.Errorf("%d keys, want 1", len(ids))
	}
}

func TestIdempotencyInProgressIsConflict(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "idembusy@example.com")
	const body = `{"name":"busy"}`
	if resp, raw := s.Do(t, http.MethodPost, keysPath, body, withKey(owner, "busy")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create = %d %s", resp.StatusCode, raw)
	}
	// Turn the finished claim back into a running one: the first request has not answered yet.
	if _, err := s.App.Store.Pool.Exec(context.Background(),
		`UPDATE idempotency_keys SET status = NULL, response_headers = NULL, response_body = NULL WHERE key = 'busy'`); err != nil {
		t.Fatal(err)
	}
	resp, raw := s.Do(t, http.MethodPost, keysPath, body, withKey(owner, "busy"))
	if p := decodeProblem(t, resp, raw, http.StatusConflict); p.Code != "idempotency_in_progress" {
		t.Errorf("code %q, want idempotency_in_progress", p.Code)
	}
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	if ids := keyIDs(t, s, owner); len(ids) != 1 {
		t.Errorf("%d keys, want 1", len(ids))
	}
}

func TestIdempotencyConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "idemrace@example.com")
	type result struct {
		status   int
		replayed string
		body     []byte
		err      error
	}
	reqs := []*http.Request{
		s.Request(t, http.MethodPost, keysPath, `{"name":"race"}`, withKey(owner, "race")),
		s.Request(t, http.MethodPost, keysPath, `{"name":"race"}`, withKey(owner, "race")),
	}
	// Warm up: a connection per request and filled server pools, so that the pair below really
	// overlaps instead of queueing behind dials.
	var warm sync.WaitGroup
	for range len(reqs) {
		req := s.Request(t, http.MethodGet, keysPath, nil, owner.Bearer())
		warm.Go(func() {
			if resp, err := s.Client.HTTP.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	warm.Wait()
	results := make([]result, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			<-start
			resp, err := s.Client.HTTP.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results[i] = result{status: resp.StatusCode, replayed: resp.Header.Get("Idempotent-Replayed"), body: b, err: err}
		})
	}
	close(start)
	wg.Wait()
	created, replays, conflicts := 0, 0, 0
	var createdBody []byte
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Fatalf("request %d: %v", i, r.err)
		case r.status == http.StatusCreated && r.replayed == "":
			created++
			createdBody = r.body
		case r.status == http.StatusCreated && r.replayed == "true":
			replays++
		case r.status == http.StatusConflict:
			conflicts++
		default:
			t.Errorf("request %d = %d %s", i, r.status, r.body)
		}
	}
	if created != 1 || replays+conflicts != 1 {
		t.Fatalf("created %d, replayed %d, conflicts %d; want one create and one replay or 409", created, replays, conflicts)
	}
	for _, r := range results {
		if r.replayed == "true" && !bytes.Equal(r.body, createdBody) {
			t.Errorf("replay differs from the original:\n%s\n%s", r.body, createdBody)
		}
	}
	if ids := keyIDs(t, s, owner); len(ids) != 1 {
		t.Errorf("concurrent duplicates made %d keys, want 1", len(ids))
	}
}

func TestExpiredIdempotencyKeyRunsAgain(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	owner := s.Register(t, "idemold@example.com")
	const body = `{"name":"old"}`
	first, firstRaw := s.Do(t, http.MethodPost, projectsPath, body, withKey(owner, "old"))
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("create = %d %s", first.StatusCode, firstRaw)
	}
	if _, err := s.App.Store.Pool.Exec(context.Background(),
		`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'`); err != nil {
		t.Fatal(err)
	}
	again, againRaw := s.Do(t, http.MethodPost, projectsPath, body, withKey(owner, "old"))
	if again.StatusCode != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "" || bytes.Equal(firstRaw, againRaw) {
		t.Fatalf("after 25 h = %d replayed=%q; want a fresh create", again.StatusCode, again.Header.Get("Idempotent-Replayed"))
	}
	if ids := projectIDs(t, s, owner); len(ids) != 2 {
		t.Errorf("%d keys, want 2", len(ids))
	}
	// The new claim is the one remembered now.
	replay, replayRaw := s.Do(t, http.MethodPost, projectsPath, body, withKey(owner, "old"))
	if replay.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(replayRaw, againRaw) {
		t.Errorf("retry of the new create = %d replayed=%q", replay.StatusCode, replay.Header.Get("Idempotent-Replayed"))
	}
}

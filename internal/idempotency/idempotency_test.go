package idempotency_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/idempotency"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

const route = "/v1/things"

var (
	hashA = bytes.Repeat([]byte{0xa}, 32)
	hashB = bytes.Repeat([]byte{0xb}, 32)
	t0    = time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC) // nanoseconds: PostgreSQL keeps µs
)

func open(t *testing.T) (*idempotency.Store, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	box, err := secret.NewBox(bytes.Repeat([]byte("m"), secret.MinMasterKeyLen), idempotency.ResponsesPurpose)
	if err != nil {
		t.Fatal(err)
	}
	return idempotency.New(st, box, slog.New(slog.NewTextHandler(io.Discard, nil))), st
}

func claim(t *testing.T, s *idempotency.Store, owner uuid.UUID, key string, hash []byte, now time.Time) idempotency.Outcome {
	t.Helper()
	out, err := s.Claim(context.Background(), owner, key, http.MethodPost, route, hash, now)
	if err != nil {
		t.Fatalf("claim %q: %v", key, err)
	}
	return out
}

func TestClaimLifecycle(t *testing.T) {
	t.Parallel()
	s, st := open(t)
	ctx := context.Background()
	alice, bob := uuid.New(), uuid.New()

	first := claim(t, s, alice, "k1", hashA, t0)
	if first.Kind != idempotency.Proceed {
		t.Fatalf("first claim = %v, want Proceed", first.Kind)
	}
	cases := []struct {
		name  string
		owner uuid.UUID
		hash  []byte
		want  idempotency.Kind
	}{
		{"same request while running", alice, hashA, idempotency.InProgress},
		{"other request while running", alice, hashB, idempotency.Mismatch},
		{"other owner, same key", bob, hashB, idempotency.Proceed},
	}
	for _, tc := range cases {
		if got := claim(t, s, tc.owner, "k1", tc.hash, t0.Add(time.Minute)).Kind; got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}

	body := []byte("{\"id\":\"x\"}\n")
	resp := idempotency.Response{Status: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}, "Location": {"/v1/things/x"}}, Body: body}
	if err := s.Complete(ctx, first.Claim, resp); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if err := s.Complete(ctx, first.Claim, resp); !errors.Is(err, idempotency.ErrClaimLost) {
		t.Errorf("second complete = %v, want ErrClaimLost", err)
	}
	var stored []byte
	if err := st.Pool.QueryRow(ctx, "SELECT response_body FROM idempotency_keys WHERE owner = $1 AND key = 'k1'", alice).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte(`"id"`)) {
		t.Errorf("the body is stored in the clear: %q", stored)
	}
	replay := claim(t, s, alice, "k1", hashA, t0.Add(time.Hour))
	if replay.Kind != idempotency.Replay || replay.Response.Status != http.StatusCreated || !bytes.Equal(replay.Response.Body, body) ||
		replay.Response.Header.Get("Location") != "/v1/things/x" || replay.Response.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("replay = %+v", replay)
	}
	if got := claim(t, s, alice, "k1", hashB, t0.Add(time.Hour)).Kind; got != idempotency.Mismatch {
		t.Errorf("other request after completion = %v, want Mismatch", got)
	}
	// A completed claim cannot be released.
	if err := s.Release(ctx, first.Claim); !errors.Is(err, idempotency.ErrClaimLost) {
		t.Errorf("release of a completed claim = %v, want ErrClaimLost", err)
	}
}

func TestReleaseLetsTheClientRetry(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	owner := uuid.New()
	first := claim(t, s, owner, "k", hashA, t0)
	if err := s.Release(context.Background(), first.Claim); err != nil {
		t.Fatal(err)
	}
	// After a release even a different request may use the key: nothing was created under it.
	if got := claim(t, s, owner, "k", hashB, t0.Add(time.Second)).Kind; got != idempotency.Proceed {
		t.Errorf("claim after release = %v, want Proceed", got)
	}
}

func TestExpiredClaimIsTakenOver(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := context.Background()
	owner := uuid.New()
	for name, complete := range map[string]bool{"in progress": false, "completed": true} {
		key := "k-" + name
		old := claim(t, s, owner, key, hashA, t0)
		if complete {
			if err := s.Complete(ctx, old.Claim, idempotency.Response{Status: http.StatusCreated, Body: []byte("{}")}); err != nil {
				t.Fatal(err)
			}
		}
		if got := claim(t, s, owner, key, hashB, t0.Add(idempotency.Retention-time.Second)).Kind; got != idempotency.Mismatch {
			t.Errorf("%s: within retention = %v, want Mismatch", name, got)
		}
		fresh := claim(t, s, owner, key, hashB, t0.Add(idempotency.Retention+time.Second))
		if fresh.Kind != idempotency.Proceed {
			t.Fatalf("%s: after retention = %v, want Proceed", name, fresh.Kind)
		}
		// The old holder cannot settle the new holder's claim.
		if err := s.Complete(ctx, old.Claim, idempotency.Response{Status: http.StatusCreated}); !errors.Is(err, idempotency.ErrClaimLost) {
			t.Errorf("%s: stale complete = %v, want ErrClaimLost", name, err)
		}
		if err := s.Release(ctx, old.Claim); !errors.Is(err, idempotency.ErrClaimLost) {
			t.Errorf("%s: stale release = %v, want ErrClaimLost", name, err)
		}
		if err := s.Complete(ctx, fresh.Claim, idempotency.Response{Status: http.StatusCreated, Body: []byte("new")}); err != nil {
			t.Errorf("%s: complete the new claim: %v", name, err)
		}
	}
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	owner := uuid.New()
	const n = 8
	var wg sync.WaitGroup
	kinds := make([]idempotency.Kind, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out, err := s.Claim(context.Background(), owner, "race", http.MethodPost, route, hashA, t0)
			kinds[i], errs[i] = out.Kind, err
		})
	}
	close(start)
	wg.Wait()
	proceed := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		switch kinds[i] {
		case idempotency.Proceed:
			proceed++
		case idempotency.InProgress:
		default:
			t.Errorf("claim %d = %v", i, kinds[i])
		}
	}
	if proceed != 1 {
		t.Errorf("%d claims proceeded, want 1", proceed)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	s, st := open(t)
	ctx := context.Background()
	owner := uuid.New()
	claim(t, s, owner, "old", hashA, t0)
	claim(t, s, owner, "new", hashA, t0.Add(2*time.Hour))
	n, err := s.Purge(ctx, t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purge = %d, %v; want 1", n, err)
	}
	var keys []string
	rows, err := st.Pool.Query(ctx, "SELECT key FROM idempotency_keys ORDER BY key")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if rows.Err() != nil || len(keys) != 1 || keys[0] != "new" {
		t.Errorf("left after purge: %v (%v)", keys, rows.Err())
	}

	// The loop purges on its own until cancelled.
	loopCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunPurge(loopCtx, 10*time.Millisecond, func() time.Time { return t0.Add(idempotency.Retention + 3*time.Hour) })
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left int
		if err := st.Pool.QueryRow(ctx, "SELECT count(*) FROM idempotency_keys").Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("RunPurge left %d keys", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

package idempotency_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/idempotency"
)

func TestKindNames(t *testing.T) {
	t.Parallel()
	for k, want := range map[idempotency.Kind]string{
		idempotency.Proceed: "proceed", idempotency.Replay: "replay", idempotency.Mismatch: "mismatch",
		idempotency.InProgress: "in progress", idempotency.Kind(0): "Kind(0)", idempotency.Kind(42): "Kind(42)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d) = %q, want %q", int(k), got, want)
		}
	}
}

// A stored response is sealed to its row: moved to another key, or with its headers damaged,
// it is an error, never replayed (and never someone else's response).
func TestDamagedStoredResponseIsNotReplayed(t *testing.T) {
	t.Parallel()
	s, st := open(t)
	ctx := context.Background()
	owner := uuid.New()
	for _, key := range []string{"secret", "other"} {
		c := claim(t, s, owner, key, hashA, t0)
		resp := idempotency.Response{Status: http.StatusCreated, Header: http.Header{"Location": {"/v1/things/" + key}}, Body: []byte(`{"key":"` + key + `"}`)}
		if err := s.Complete(ctx, c.Claim, resp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Pool.Exec(ctx, `UPDATE idempotency_keys SET response_body = (SELECT response_body FROM idempotency_keys WHERE key = 'secret') WHERE key = 'other'`); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Claim(ctx, owner, "other", http.MethodPost, route, hashA, t0.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "stored body") {
		t.Errorf("claim of a key holding another key's body = %v (%s), %v; want an error", out.Kind, out.Response.Body, err)
	}
	if _, err := st.Pool.Exec(ctx, `UPDATE idempotency_keys SET response_headers = '"not headers"' WHERE key = 'secret'`); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Claim(ctx, owner, "secret", http.MethodPost, route, hashA, t0.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "stored headers") {
		t.Errorf("claim of a key with damaged headers = %v, %v; want an error", out.Kind, err)
	}
}

// A reply without headers or body replays as an empty body and no headers.
func TestEmptyResponseReplays(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	owner := uuid.New()
	c := claim(t, s, owner, "empty", hashA, t0)
	if err := s.Complete(context.Background(), c.Claim, idempotency.Response{Status: http.StatusNoContent}); err != nil {
		t.Fatal(err)
	}
	out := claim(t, s, owner, "empty", hashA, t0.Add(time.Second))
	if out.Kind != idempotency.Replay || out.Response.Status != http.StatusNoContent || out.Response.Body == nil || len(out.Response.Body) != 0 || len(out.Response.Header) != 0 {
		t.Errorf("replay = %+v", out)
	}
}

// With the database gone every operation fails with an error (the request gets a 5xx), and
// the purge loop keeps running until it is stopped.
func TestDatabaseFailures(t *testing.T) {
	t.Parallel()
	s, st := open(t)
	ctx := context.Background()
	owner := uuid.New()
	c := claim(t, s, owner, "k", hashA, t0)
	st.Close()
	if _, err := s.Claim(ctx, owner, "k2", http.MethodPost, route, hashA, t0); err == nil {
		t.Error("claim with the database closed succeeded")
	}
	if err := s.Complete(ctx, c.Claim, idempotency.Response{Status: http.StatusCreated}); err == nil || errors.Is(err, idempotency.ErrClaimLost) {
		t.Errorf("complete with the database closed = %v", err)
	}
	if err := s.Release(ctx, c.Claim); err == nil || errors.Is(err, idempotency.ErrClaimLost) {
		t.Errorf("release with the database closed = %v", err)
	}
	if _, err := s.Purge(ctx, t0); err == nil {
		t.Error("purge with the database closed succeeded")
	}
	loopCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunPurge(loopCtx, time.Millisecond, time.Now)
	}()
	time.Sleep(20 * time.Millisecond) // let a few failing rounds run
	cancel()
	<-done
}

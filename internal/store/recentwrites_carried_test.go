package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestCarriedRecentWriteRoutesTheRead proves that a recent-writes lookup queued on another
// round trip (store.RedisRecentWrites.Queue, as the authenticator's pipeline carries it) routes
// the read as the router's own lookup would: a user who just wrote reads the primary, one who
// did not reads the replica, and an answer carried for someone else is not used.
func TestCarriedRecentWriteRoutesTheRead(t *testing.T) {
	rp, st, u := replicatedStore(t)
	ctx := context.Background()
	rdb := testutil.NewRedis(t)
	writes := store.NewRedisRecentWrites(rdb, testutil.NewRedisPrefix(t), time.Minute)
	insertProject(t, st, u, "first")
	waitUntil(t, "the replica has the first project", func() bool { return len(listOn(t, rp.ReplicaURL, u)) == 1 })
	router := openRouter(t, st, rp.ReplicaURL, time.Minute, writes)
	waitUntil(t, "the replica is usable", func() bool { return router.Status().Usable })
	rp.SetReplay(t, false)
	insertProject(t, st, u, "second") // on the primary only while replay is paused

	carried := func(user uuid.UUID) context.Context {
		t.Helper()
		pipe := rdb.Pipeline()
		answer := writes.Queue(ctx, pipe, user)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		return store.WithRecentWrite(ctx, user, answer)
	}
	read := func(ctx context.Context) int {
		t.Helper()
		rows, err := st.Reader(ctx, u).ListProjects(ctx, db.ListProjectsParams{UserID: u, MaxRows: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}

	if got := read(carried(u)); got != 1 {
		t.Fatalf("carried 'did not write': read sees %d projects, want 1 (the paused replica's)", got)
	}
	if err := writes.Wrote(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got := read(carried(u)); got != 2 {
		t.Fatalf("carried 'just wrote': read sees %d projects, want 2 (the primary's)", got)
	}
	// An answer about another user is ignored: the router asks for u itself (who wrote).
	if got := read(carried(uuid.New())); got != 2 {
		t.Fatalf("answer carried for another user: read sees %d projects, want 2 (u's own lookup: primary)", got)
	}
	// A carried lookup that failed counts as a write, like the router's own.
	pipe := rdb.Pipeline()
	cancelled, cancel := context.WithCancel(ctx)
	answer := writes.Queue(cancelled, pipe, u)
	cancel()
	_, _ = pipe.Exec(cancelled)
	if recent, err := answer(); !recent || err == nil {
		t.Fatalf("failed carried lookup = %v, %v; want true and the error", recent, err)
	}
	rp.SetReplay(t, true)
}

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

// TestReadReplicaRouting runs against a real streaming replica (pg_basebackup -R from a private
// primary). It proves where reads run by what they see: with replay paused, a row written on the
// primary is missing from a replica read, and present on a primary read.
func TestReadReplicaRouting(t *testing.T) {
	rp, st, u := replicatedStore(t)
	ctx := context.Background()
	rdb := testutil.NewRedis(t)
	insertProject(t, st, u, "first")
	waitUntil(t, "the replica has the first project", func() bool { return len(listOn(t, rp.ReplicaURL, u)) == 1 })

	// A replica allowed a minute of lag: still used while replay is paused.
	wide := openRouter(t, st, rp.ReplicaURL, time.Minute, store.NewRedisRecentWrites(rdb, testutil.NewRedisPrefix(t), time.Minute))
	waitUntil(t, "the replica is usable", func() bool { return wide.Status().Usable })
	rp.SetReplay(t, false)
	insertProject(t, st, u, "second")
	if got := projects(t, st, u); len(got) != 1 {
		t.Fatalf("lag-tolerant read by a user who did not write sees %d projects, want 1 (the paused replica's)", len(got))
	}
	if r, _ := wide.Reads(); r != 1 {
		t.Fatalf("replica reads = %d, want 1", r)
	}
	// Right after the user's own write their reads go to the primary and see it.
	writes := store.NewRedisRecentWrites(rdb, testutil.NewRedisPrefix(t), time.Minute)
	wide = openRouter(t, st, rp.ReplicaURL, time.Minute, writes)
	if err := writes.Wrote(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got := projects(t, st, u); len(got) != 2 {
		t.Fatalf("read right after the user's write sees %d projects, want 2 (primary)", len(got))
	}

	// A replica allowed 300ms of lag falls back to the primary while replay is paused ...
	tight := openRouter(t, st, rp.ReplicaURL, 300*time.Millisecond, store.NewRedisRecentWrites(rdb, testutil.NewRedisPrefix(t), time.Second))
	insertProject(t, st, u, "third")
	waitUntil(t, "the lagging replica is not used", func() bool { return !tight.Status().Usable })
	t.Logf("lagging replica: %+v", tight.Status())
	if got := projects(t, st, u); len(got) != 3 {
		t.Fatalf("read with a lagging replica sees %d projects, want 3 (primary)", len(got))
	}
	// ... and is back once replay resumes.
	rp.SetReplay(t, true)
	waitUntil(t, "the caught-up replica is used again", func() bool { return tight.Status().Usable })
	before, _ := tight.Reads()
	if got := projects(t, st, u); len(got) != 3 {
		t.Fatalf("read on the caught-up replica sees %d projects, want 3", len(got))
	}
	if after, _ := tight.Reads(); after != before+1 {
		t.Fatalf("replica reads %d → %d, want one more", before, after)
	}

	// Replica stopped: reads still answer (the failed attempt is retried on the primary at once).
	rp.StopReplica(t)
	if got := projects(t, st, u); len(got) != 3 {
		t.Fatalf("read with the replica down sees %d projects, want 3", len(got))
	}
	err := st.ReadSnapshot(ctx, u, func(q *db.Queries) error {
		_, err := q.ListProjects(ctx, db.ListProjectsParams{UserID: u, MaxRows: 10})
		return err
	})
	if err != nil {
		t.Fatalf("snapshot read with the replica down: %v", err)
	}
	waitUntil(t, "the stopped replica is not used", func() bool { return !tight.Status().Usable && tight.Status().Reason == "unreachable" })
	rp.StartReplica(t)
	waitUntil(t, "the restarted replica is used again", func() bool { return tight.Status().Usable })
}

// replicatedStore starts a private primary with a streaming replica and opens the store on the
// primary, with one user in it.
func replicatedStore(t testing.TB) (*testutil.ReplicatedPostgres, *store.Store, uuid.UUID) {
	t.Helper()
	rp := testutil.StartReplicatedPostgres(t)
	st, err := store.Open(context.Background(), rp.PrimaryURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	u, err := insertUser(context.Background(), st.Queries(), "replica@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return rp, st, u
}

func openRouter(t *testing.T, st *store.Store, url string, maxLag time.Duration, writes store.RecentWrites) *store.ReadRouter {
	t.Helper()
	r, err := store.OpenReplica(context.Background(), url, store.ReplicaOptions{MaxLag: maxLag, CheckEvery: 50 * time.Millisecond, Writes: writes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	st.UseReplica(r)
	return r
}

func insertProject(t *testing.T, st *store.Store, user uuid.UUID, name string) {
	t.Helper()
	if _, err := st.Pool.Exec(context.Background(), "INSERT INTO projects (user_id, name) VALUES ($1, $2)", user, name); err != nil {
		t.Fatal(err)
	}
}

// projects is the lag-tolerant list read, routed by st.
func projects(t *testing.T, st *store.Store, user uuid.UUID) []db.Project {
	t.Helper()
	rows, err := st.Reader(context.Background(), user).ListProjects(context.Background(), db.ListProjectsParams{UserID: user, MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// listOn lists the user's projects on the server at url directly.
func listOn(t *testing.T, url string, user uuid.UUID) []db.Project {
	t.Helper()
	s, err := store.Open(context.Background(), url)
	if err != nil {
		return nil
	}
	defer s.Close()
	rows, _ := s.Queries().ListProjects(context.Background(), db.ListProjectsParams{UserID: user, MaxRows: 10})
	return rows
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

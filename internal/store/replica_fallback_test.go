package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestReplicaDiesBetweenLagChecks: a replica that goes down after a lag check said it was usable
// costs each read one failed attempt on it, then the read runs on the primary — for a list
// (Query), a single row (QueryRow), a statement (Exec) and a snapshot — and the router stops
// using the replica at once, without waiting for the next check. While the replica is up, its
// answers (no rows, a refused write) are returned as they are, not retried on the primary.
func TestReplicaDiesBetweenLagChecks(t *testing.T) {
	rp, st, u := replicatedStore(t)
	ctx := context.Background()
	insertProject(t, st, u, "kept")
	insertProject(t, st, u, "doomed")
	waitUntil(t, "the replica has both projects", func() bool { return len(listOn(t, rp.ReplicaURL, u)) == 2 })
	var logs bytes.Buffer
	r := usableRouter(t, st, rp.ReplicaURL, slog.New(slog.NewTextHandler(&logs, nil)))
	all := projects(t, st, u)
	if len(all) != 2 {
		t.Fatalf("replica read sees %d projects, want 2", len(all))
	}
	var kept, doomed uuid.UUID
	for _, p := range all {
		if p.Name == "kept" {
			kept = p.ID
		} else {
			doomed = p.ID
		}
	}

	// Replica up: its answers are final.
	q := st.Reader(ctx, u)
	if _, err := q.GetProject(ctx, db.GetProjectParams{ID: uuid.New(), UserID: u}); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("missing row on the replica: %v, want no rows", err)
	}
	var pgErr *pgconn.PgError
	if _, err := q.DeleteProject(ctx, db.DeleteProjectParams{ID: doomed, UserID: u}); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("write on the replica: %v, want read_only_sql_transaction (not retried on the primary)", err)
	}
	if err := st.ReadSnapshot(ctx, u, func(q *db.Queries) error {
		_, err := q.GetProject(ctx, db.GetProjectParams{ID: kept, UserID: u})
		return err
	}); err != nil {
		t.Fatalf("snapshot on the replica: %v", err)
	}
	if !r.Status().Usable {
		t.Fatalf("answers from the replica made it unusable: %+v", r.Status())
	}
	if replica, _ := r.Reads(); replica != 3 {
		t.Fatalf("replica reads = %d, want 3 (list, queries, snapshot)", replica)
	}

	// Replica down; the router still believes the last check (the next is an hour away).
	rp.StopReplica(t)
	err := st.ReadSnapshot(ctx, u, func(q *db.Queries) error {
		_, err := q.GetProject(ctx, db.GetProjectParams{ID: kept, UserID: u})
		return err
	})
	if err != nil {
		t.Fatalf("snapshot with the replica down: %v, want it served by the primary", err)
	}
	if s := r.Status(); s.Usable || s.Reason != "unreachable" {
		t.Fatalf("after a failed replica read: %+v, want unusable (unreachable)", s)
	}
	if !strings.Contains(logs.String(), "reads fall back to the primary") {
		t.Errorf("no warning logged when the replica failed a read:\n%s", logs.String())
	}
	// q was routed to the replica before it died: each kind of statement falls back.
	if rows, err := q.ListProjects(ctx, db.ListProjectsParams{UserID: u, MaxRows: 10}); err != nil || len(rows) != 2 {
		t.Fatalf("list with the replica down: %d rows, %v; want 2 from the primary", len(rows), err)
	}
	if p, err := q.GetProject(ctx, db.GetProjectParams{ID: kept, UserID: u}); err != nil || p.Name != "kept" {
		t.Fatalf("row with the replica down: %+v, %v; want it from the primary", p, err)
	}
	if n, err := q.DeleteProject(ctx, db.DeleteProjectParams{ID: doomed, UserID: u}); err != nil || n != 1 {
		t.Fatalf("statement with the replica down: %d rows, %v; want it run on the primary", n, err)
	}
	// The next reads are routed to the primary without trying the replica.
	_, before := r.Reads()
	if got := projects(t, st, u); len(got) != 1 {
		t.Fatalf("list after the fallback sees %d projects, want 1 (the primary's)", len(got))
	}
	if _, after := r.Reads(); after != before+1 {
		t.Fatalf("primary reads %d → %d, want one more", before, after)
	}
}

// usableRouter opens a router on url whose first lag check found the replica usable, with the
// next check an hour away, so that the test decides what the router believes.
func usableRouter(t *testing.T, st *store.Store, url string, log *slog.Logger) *store.ReadRouter {
	t.Helper()
	writes := store.NewRedisRecentWrites(testutil.NewRedis(t), testutil.NewRedisPrefix(t), time.Minute)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		r, err := store.OpenReplica(context.Background(), url, store.ReplicaOptions{MaxLag: time.Minute, CheckEvery: time.Hour, Writes: writes, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status().Usable {
			t.Cleanup(r.Close)
			st.UseReplica(r)
			return r
		}
		r.Close()
	}
	t.Fatal("the replica never passed a lag check")
	return nil
}

// A replica URL that is no standby, or where nothing answers, is not read from: every read goes
// to the primary, and the status says why.
func TestReplicaThatCannotServeIsNotUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primaryURL := testutil.NewDatabase(t)
	st, err := store.Open(ctx, primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	u, err := insertUser(ctx, st.Queries(), "fallback@example.com")
	if err != nil {
		t.Fatal(err)
	}
	writes := store.NewRedisRecentWrites(testutil.NewRedis(t), testutil.NewRedisPrefix(t), time.Minute)
	for _, tc := range []struct{ name, url, reason string }{
		{"the primary itself", primaryURL, "not a standby (promoted?)"},
		{"nothing listening", "postgres://postgres@" + closedAddr(t) + "/ccb?sslmode=disable&connect_timeout=2", "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := store.OpenReplica(ctx, tc.url, store.ReplicaOptions{MaxLag: time.Minute, CheckEvery: time.Hour, Writes: writes})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			st.UseReplica(r)
			defer st.UseReplica(nil)
			if s := r.Status(); s.Usable || s.Reason != tc.reason || s.CheckedAt.IsZero() {
				t.Fatalf("status %+v, want unusable because %q", s, tc.reason)
			}
			if _, err := st.Reader(ctx, u).ListProjects(ctx, db.ListProjectsParams{UserID: u, MaxRows: 10}); err != nil {
				t.Fatalf("list: %v", err)
			}
			if err := st.ReadSnapshot(ctx, u, func(q *db.Queries) error { _, err := q.GetUser(ctx, u); return err }); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
			if replica, primary := r.Reads(); replica != 0 || primary != 2 {
				t.Fatalf("reads: replica %d, primary %d; want 0 and 2", replica, primary)
			}
		})
	}
	if _, err := store.OpenReplica(ctx, "postgres://u:pw@h:notaport/x", store.ReplicaOptions{CheckEvery: time.Second}); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("OpenReplica(unparsable) = %v; want an error without the password", err)
	}
}

// When Redis cannot say whether a user wrote lately, the answer is yes: their reads go to the
// primary, which is always current.
func TestRecentWritesUnknownCountsAsWritten(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1})
	defer func() { _ = rdb.Close() }()
	w := store.NewRedisRecentWrites(rdb, "test:", time.Minute)
	recent, err := w.WroteRecently(context.Background(), uuid.New())
	if err == nil || !recent {
		t.Fatalf("WroteRecently with Redis down = %v, %v; want true and the error", recent, err)
	}
}

// TestReplicaDiesRightAfterARead: a list read on a connection the replica closed moments ago
// (used too recently for the pool to ping it first, so the failure surfaces only while the rows
// are read) is answered by the primary too, and the router stops using the replica.
func TestReplicaDiesRightAfterARead(t *testing.T) {
	rp, st, u := replicatedStore(t)
	ctx := context.Background()
	insertProject(t, st, u, "kept")
	waitUntil(t, "the replica has the project", func() bool { return len(listOn(t, rp.ReplicaURL, u)) == 1 })
	r := usableRouter(t, st, rp.ReplicaURL, slog.New(slog.DiscardHandler))
	q := st.Reader(ctx, u)
	if rows, err := q.ListProjects(ctx, db.ListProjectsParams{UserID: u, MaxRows: 10}); err != nil || len(rows) != 1 {
		t.Fatalf("list on the replica: %d rows, %v; want 1", len(rows), err)
	}
	if replica, _ := r.Reads(); replica != 1 {
		t.Fatalf("replica reads = %d, want 1", replica)
	}

	rp.StopReplica(t)
	if rows, err := q.ListProjects(ctx, db.ListProjectsParams{UserID: u, MaxRows: 10}); err != nil || len(rows) != 1 || rows[0].Name != "kept" {
		t.Fatalf("list right after the replica died: %d rows, %v; want the project from the primary", len(rows), err)
	}
	if s := r.Status(); s.Usable || s.Reason != "unreachable" {
		t.Fatalf("after the failed read: %+v, want unusable (unreachable)", s)
	}
}

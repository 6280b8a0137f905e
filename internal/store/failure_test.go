package store_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// closedAddr is a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// Connection failures say where they failed and never repeat a password from the URL.
func TestOpenFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const pw = "hunter2-secret"
	down := closedAddr(t)
	for _, url := range []string{"postgres://u:" + pw + "@h:notaport/x", "postgres://u:" + pw + "@" + down + "/x?sslmode=disable&connect_timeout=2"} {
		if _, err := store.Open(ctx, url); err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("Open(%q) = %v; want an error without the password", url, err)
		}
		if m, err := store.NewMigrator(url); err == nil || strings.Contains(err.Error(), pw) {
			if m != nil {
				_ = m.Close()
			}
			t.Errorf("NewMigrator(%q) = %v; want an error without the password", url, err)
		}
	}
	if _, err := store.NewMigrator("postgres://u:" + pw + "@%zz/x"); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("NewMigrator(unparsable) = %v", err)
	}
	for _, url := range []string{"redis://:" + pw + "@h:notaport/0", "redis://:" + pw + "@" + down + "/0"} {
		if _, err := store.OpenRedis(ctx, url, config.Redis{Mode: config.RedisSingle}); err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("OpenRedis(%q) = %v; want an error without the password", url, err)
		}
	}
	base := testutil.BaseConfig(t)
	if rdb, err := store.OpenRedis(ctx, base.RedisURL, base.Redis); err != nil {
		t.Errorf("OpenRedis(test redis) = %v", err)
	} else {
		_ = rdb.Close()
	}
}

// With the pool closed, transactions fail to begin and report it as an error, not a panic.
func TestTransactionsOnAClosedPool(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ran := false
	fn := func(*db.Queries) error { ran = true; return nil }
	if err := st.InTx(context.Background(), fn); err == nil || ran {
		t.Errorf("InTx on a closed pool = %v (ran %t)", err, ran)
	}
	if err := st.InSnapshot(context.Background(), fn); err == nil || ran {
		t.Errorf("InSnapshot on a closed pool = %v (ran %t)", err, ran)
	}
	if err := st.Ping(context.Background()); err == nil {
		t.Error("Ping on a closed pool succeeded")
	}
}

// InSnapshot is read-only: a write inside it fails and is mapped; a read commits.
func TestInSnapshot(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := context.Background()
	if err := st.InSnapshot(ctx, func(q *db.Queries) error { _, err := q.Ping(ctx); return err }); err != nil {
		t.Fatalf("read in a snapshot: %v", err)
	}
	err := st.InSnapshot(ctx, func(q *db.Queries) error {
		_, err := insertUser(ctx, q, "snap@example.com")
		return err
	})
	if err == nil {
		t.Fatal("a write in a read-only snapshot succeeded")
	}
	var n int
	if err := st.Pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil || n != 0 {
		t.Errorf("users after the refused write = %d (%v)", n, err)
	}
}

// The PostgreSQL errors a request can cause map to client errors; the rest pass through.
func TestMapErrorKinds(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) error { _, err := st.Pool.Exec(ctx, sql, args...); return err }
	cases := []struct {
		name string
		err  error
		want apperr.Kind
	}{
		{"foreign key", func() error {
			_, err := st.Queries().CreateProject(ctx, db.CreateProjectParams{UserID: uuid.New(), Name: "p", Settings: []byte(`{}`), Now: time.Now()})
			return err
		}(), apperr.NotFound},
		{"invalid text", exec("SELECT $1::uuid", "not-a-uuid"), apperr.Invalid},
		{"query canceled", func() error {
			tx, err := st.Pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback(ctx) }()
			if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 1"); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, "SELECT pg_sleep(1)")
			return err
		}(), apperr.Timeout},
		{"deadline", func() error {
			dctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
			defer cancel()
			<-dctx.Done()
			_, err := st.Pool.Exec(dctx, "SELECT 1")
			return err
		}(), apperr.Timeout},
		{"application error passes", apperr.New(apperr.Gone, "gone", "gone"), apperr.Gone},
		{"other error stays internal", errors.New("disk full"), apperr.Internal},
	}
	for _, tc := range cases {
		if got := apperr.KindOf(store.MapError(tc.err)); got != tc.want || tc.err == nil {
			t.Errorf("%s: MapError(%v) kind %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if store.MapError(nil) != nil {
		t.Error("MapError(nil) != nil")
	}
}

func TestEscapeLike(t *testing.T) {
	t.Parallel()
	if got := store.EscapeLike(`50%_off\`); got != `50\%\_off\\` {
		t.Errorf("EscapeLike = %q", got)
	}
}

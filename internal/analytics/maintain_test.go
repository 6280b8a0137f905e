package analytics_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func newUser(t *testing.T, st *store.Store) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := st.Pool.QueryRow(context.Background(), `INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id`,
		uuid.NewString()+"@example.com").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func maintainer(st *store.Store, now time.Time, retention int) *analytics.Maintainer {
	return analytics.NewMaintainer(st, func() time.Time { return now }, retention, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func run(t *testing.T, m *analytics.Maintainer) analytics.Report {
	t.Helper()
	rep, err := m.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func partitionNames(t *testing.T, st *store.Store) []string {
	t.Helper()
	parts, err := analytics.Partitions(context.Background(), st.Pool)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, p := range parts {
		names = append(names, p.Name)
		if p.Name != "usage_events_"+p.From.Format("2006_01") || !p.To.Equal(p.From.AddDate(0, 1, 0)) || (i > 0 && !p.From.After(parts[i-1].From)) {
			t.Fatalf("partition %d: %+v", i, p)
		}
	}
	return names
}

func monthName(m time.Time) string { return "usage_events_" + m.Format("2006_01") }

// Maintenance creates the current month and three ahead, is idempotent, lands every month's row
// in that month's partition, drops only partitions wholly past retention (never by DELETE, never
// the current month) and does nothing while another instance holds the lock.
func TestMaintenancePartitions(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Now().UTC()
	cur := analytics.MonthStart(now)

	// Ahead: a clock six months on finds none of its months and creates four.
	later := cur.AddDate(0, 6, 9)
	rep := run(t, maintainer(st, later, 13))
	want := []string{monthName(cur.AddDate(0, 6, 0)), monthName(cur.AddDate(0, 7, 0)), monthName(cur.AddDate(0, 8, 0)), monthName(cur.AddDate(0, 9, 0))}
	if !slices.Equal(rep.Created, want) {
		t.Fatalf("created %v, want %v", rep.Created, want)
	}
	before := partitionNames(t, st)
	if rep := run(t, maintainer(st, later, 13)); len(rep.Created)+len(rep.Dropped) != 0 {
		t.Fatalf("second run changed something: %+v", rep)
	}
	if after := partitionNames(t, st); !slices.Equal(before, after) {
		t.Fatalf("partitions %v became %v", before, after)
	}
	parts, _ := analytics.Partitions(ctx, st.Pool)
	if got := analytics.MonthsAhead(parts, later); got != 3 {
		t.Fatalf("MonthsAhead = %d", got)
	}

	// Every month from 16 back to 3 ahead gets a partition and a row, which lands in it.
	for _, back := range []int{16, 12, 8, 4} {
		run(t, maintainer(st, cur.AddDate(0, -back, 0), 100))
	}
	user := newUser(t, st)
	for k := -16; k <= 3; k++ {
		at := cur.AddDate(0, k, 14).Add(time.Duration(k+17) * time.Hour)
		var part string
		if err := st.Pool.QueryRow(ctx, `INSERT INTO usage_events (user_id, model, provider, status, duration_ms, created_at)
			VALUES ($1, 'm', 'p', 'completed', 1, $2) RETURNING tableoid::regclass::text`, user, at).Scan(&part); err != nil {
			t.Fatalf("month %+d: %v", k, err)
		}
		if part != monthName(cur.AddDate(0, k, 0)) {
			t.Fatalf("a row of %s landed in %s", at, part)
		}
	}
	// The month's last microsecond and the next month's first instant split at the bound.
	var a, b string
	if err := st.Pool.QueryRow(ctx, `WITH i AS (INSERT INTO usage_events (user_id, model, provider, status, duration_ms, created_at)
		VALUES ($1, 'm', 'p', 'completed', 1, $2::timestamptz - interval '1 microsecond'), ($1, 'm', 'p', 'completed', 1, $2)
		RETURNING created_at, tableoid::regclass::text AS part) SELECT min(part), max(part) FROM i`, user, cur).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if a != monthName(cur.AddDate(0, -1, 0)) || b != monthName(cur) {
		t.Fatalf("bound rows went to %s and %s", a, b)
	}

	// Retention 13 months: partitions ending 13 months or more ago go, the rest keep every row.
	rep = run(t, maintainer(st, now, 13))
	cutoff := now.AddDate(0, -13, 0)
	var wantDropped []string
	for k := -16; k < 0; k++ {
		if m := cur.AddDate(0, k, 0); !m.AddDate(0, 1, 0).After(cutoff) {
			wantDropped = append(wantDropped, monthName(m))
		}
	}
	if len(wantDropped) < 3 || !slices.Equal(rep.Dropped, wantDropped) {
		t.Fatalf("dropped %v, want %v", rep.Dropped, wantDropped)
	}
	var rows int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM usage_events`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := 20 - len(wantDropped) + 2; rows != want {
		t.Fatalf("%d rows left, want %d", rows, want)
	}
	var leftovers int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname = ANY($1)`, wantDropped).Scan(&leftovers); err != nil || leftovers != 0 {
		t.Fatalf("%d dropped partitions still exist (%v)", leftovers, err)
	}

	// Even with no retention at all the current month stays.
	rep = run(t, maintainer(st, now, 0))
	if slices.Contains(rep.Dropped, monthName(cur)) || !slices.Contains(partitionNames(t, st), monthName(cur)) {
		t.Fatalf("the current month was dropped: %v", rep.Dropped)
	}

	// Another instance holding the lock: this run does nothing.
	conn, err := st.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(x'75736167655f6576'::bigint)`); err != nil {
		t.Fatal(err)
	}
	if rep := run(t, maintainer(st, cur.AddDate(0, 20, 0), 13)); rep.Locked || len(rep.Created) != 0 {
		t.Fatalf("ran under another instance's lock: %+v", rep)
	}
}

package analytics_test

import (
	"context"
	"testing"

	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// usageChecksum fingerprints every row of usage_events (the columns both schemas share).
const usageChecksum = `SELECT count(*), coalesce(max(id), 0), coalesce(md5(string_agg(concat_ws('|', id, user_id, api_key_id, session_id,
	model, provider, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost, status, stop_reason, ttft_ms,
	duration_ms, extract(epoch FROM created_at)), ',' ORDER BY id)), '') FROM usage_events`

// Migrating the plain table of version 7 to the partitioned one keeps every row (count and
// checksum), gives each month's rows to its partition, keeps ids increasing, fills project_id
// from the session, and the down migration brings the same rows back.
func TestMigrationKeepsEveryUsageEvent(t *testing.T) {
	ctx := context.Background()
	url := testutil.NewDatabase(t)
	mig, err := store.NewMigrator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer mig.Close()
	downToPlainUsage(t, mig) // back to the plain table
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	user := newUser(t, st)
	var project, session string
	if err := st.Pool.QueryRow(ctx, `WITH p AS (INSERT INTO projects (user_id, name) VALUES ($1, 'p') RETURNING id)
		INSERT INTO sessions (user_id, project_id) SELECT $1, id FROM p RETURNING project_id, id`, user).Scan(&project, &session); err != nil {
		t.Fatal(err)
	}
	// 2,000 rows over 26 months, some in a session, then a deleted tail so the sequence is ahead of max(id).
	if _, err := st.Pool.Exec(ctx, `INSERT INTO usage_events (user_id, session_id, model, provider, input_tokens, output_tokens,
		cache_read_tokens, cost, status, stop_reason, ttft_ms, duration_ms, created_at)
		SELECT $1, CASE WHEN g % 3 = 0 THEN $2::uuid END, 'm' || g % 4, 'anthropic', g, g * 2, g % 7, g / 997.0,
		       (ARRAY['completed', 'cancelled', 'failed'])[1 + g % 3], CASE WHEN g % 2 = 0 THEN 'end_turn' END,
		       CASE WHEN g % 5 > 0 THEN g * 0.5 END, g * 1.25, now() - interval '790 days' + g * interval '9.5 hours'
		FROM generate_series(1, 2010) g`, user, session); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool.Exec(ctx, `DELETE FROM usage_events WHERE id >= (SELECT min(id) + 2000 FROM usage_events)`); err != nil {
		t.Fatal(err)
	}
	var n0, max0 int64
	var sum0 string
	if err := st.Pool.QueryRow(ctx, usageChecksum).Scan(&n0, &max0, &sum0); err != nil || n0 != 2000 {
		t.Fatalf("seeded %d rows: %v", n0, err)
	}

	if err := mig.Up(); err != nil {
		t.Fatal(err)
	}
	st.Pool.Reset() // cached statements describe the old table
	var n1, max1 int64
	var sum1 string
	if err := st.Pool.QueryRow(ctx, usageChecksum).Scan(&n1, &max1, &sum1); err != nil || n1 != n0 || max1 != max0 || sum1 != sum0 {
		t.Fatalf("after up: %d rows max %d sum %s (%v), want %d %d %s", n1, max1, sum1, err, n0, max0, sum0)
	}
	var misplaced, withProject, sessionRows int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE tableoid::regclass::text <> 'usage_events_' || to_char(created_at AT TIME ZONE 'UTC', 'YYYY_MM')),
		count(*) FILTER (WHERE project_id = $1), count(*) FILTER (WHERE session_id IS NOT NULL) FROM usage_events`, project).Scan(&misplaced, &withProject, &sessionRows); err != nil {
		t.Fatal(err)
	}
	if misplaced != 0 || withProject != sessionRows || withProject == 0 {
		t.Fatalf("%d rows in the wrong partition; %d of %d session rows got the project", misplaced, withProject, sessionRows)
	}
	parts, err := analytics.Partitions(ctx, st.Pool)
	if err != nil || len(parts) < 27 {
		t.Fatalf("%d partitions (%v)", len(parts), err)
	}
	var next int64
	if err := st.Pool.QueryRow(ctx, `INSERT INTO usage_events (user_id, model, provider, status, duration_ms) VALUES ($1, 'm', 'p', 'completed', 1) RETURNING id`, user).Scan(&next); err != nil || next <= max0+10 {
		t.Fatalf("new id %d, not after the deleted tail (%v)", next, err)
	}

	downToPlainUsage(t, mig)
	st.Pool.Reset()
	if _, err := st.Pool.Exec(ctx, `DELETE FROM usage_events WHERE id = $1`, next); err != nil {
		t.Fatal(err)
	}
	var n2, max2 int64
	var sum2 string
	if err := st.Pool.QueryRow(ctx, usageChecksum).Scan(&n2, &max2, &sum2); err != nil || n2 != n0 || sum2 != sum0 {
		t.Fatalf("after down: %d rows sum %s (%v)", n2, sum2, err)
	}
}

// downToPlainUsage reverts the migrations down to the one before 000010 (usage partitions), however
// many later migrations there are.
func downToPlainUsage(t *testing.T, mig *store.Migrator) {
	t.Helper()
	v, _, err := mig.Version()
	if err != nil {
		t.Fatal(err)
	}
	if err := mig.Down(int(v) - 9); err != nil {
		t.Fatal(err)
	}
}

package analytics_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// seedRandom inserts n random events over the 40 days before now (a whole month always among them) (users, keys, projects, models,
// providers and statuses drawn from small sets so groups repeat).
func seedRandom(t *testing.T, st *store.Store, rng *rand.Rand, now time.Time, n int) {
	t.Helper()
	users := []uuid.UUID{newUser(t, st), newUser(t, st), newUser(t, st)}
	keys := []*uuid.UUID{nil, ptr(uuid.New()), ptr(uuid.New())}
	projects := []*uuid.UUID{nil, ptr(uuid.New())}
	models := []string{"claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o"}
	statuses := []string{"completed", "completed", "failed", "cancelled"}
	for range n {
		at := now.Add(-time.Duration(rng.Int64N(int64(40 * 24 * time.Hour))))
		m := rng.IntN(len(models))
		if _, err := st.Pool.Exec(context.Background(), `INSERT INTO usage_events (user_id, api_key_id, project_id, model, provider,
			input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost, status, duration_ms, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			users[rng.IntN(3)], keys[rng.IntN(3)], projects[rng.IntN(2)], models[m], []string{"anthropic", "anthropic", "openai"}[m],
			rng.Int64N(5000), rng.Int64N(2000), rng.Int64N(100), rng.Int64N(50), float64(rng.IntN(1e6))/1e7,
			statuses[rng.IntN(4)], rng.Float64()*1000, at); err != nil {
			t.Fatal(err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// rollupDiff counts rows that differ between usage_daily and a direct aggregation of the raw
// events of the days before until, in either direction.
const rollupDiff = `WITH direct AS (
	SELECT (created_at AT TIME ZONE 'UTC')::date AS day, user_id, api_key_id, project_id, model, provider, count(*) AS requests,
	       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cache_read_tokens) AS cache_read_tokens,
	       sum(cache_write_tokens) AS cache_write_tokens, sum(cost) AS cost, count(*) FILTER (WHERE status = 'failed') AS errors
	FROM usage_events WHERE created_at < $1 GROUP BY 1, 2, 3, 4, 5, 6
), rolled AS (
	SELECT day, user_id, api_key_id, project_id, model, provider, requests, input_tokens, output_tokens, cache_read_tokens,
	       cache_write_tokens, cost, errors FROM usage_daily
)
SELECT (SELECT count(*) FROM (SELECT * FROM direct EXCEPT ALL SELECT * FROM rolled) a)
     + (SELECT count(*) FROM (SELECT * FROM rolled EXCEPT ALL SELECT * FROM direct) b), (SELECT count(*) FROM rolled)`

// coarseDiffs compare each coarse rollup with a direct aggregation of the raw events before $1
// (rows differing in either direction, and the rollup's row count).
var coarseDiffs = map[string]string{
	"usage_daily_model": `SELECT (created_at AT TIME ZONE 'UTC')::date, model, provider, count(*), sum(input_tokens), sum(output_tokens),
		sum(cache_read_tokens), sum(cache_write_tokens), sum(cost), count(*) FILTER (WHERE status = 'failed')
		FROM usage_events WHERE created_at < $1 GROUP BY 1, 2, 3`,
	"usage_daily_user": `SELECT (created_at AT TIME ZONE 'UTC')::date, user_id, api_key_id, count(*), sum(input_tokens), sum(output_tokens),
		sum(cache_read_tokens), sum(cache_write_tokens), sum(cost), count(*) FILTER (WHERE status = 'failed')
		FROM usage_events WHERE created_at < $1 GROUP BY 1, 2, 3`,
	// Whole months only: the maintenance loop sums a month when its last day is rolled up.
	"usage_monthly_user": `SELECT date_trunc('month', created_at AT TIME ZONE 'UTC')::date, user_id, api_key_id, count(*), sum(input_tokens),
		sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(cost), count(*) FILTER (WHERE status = 'failed')
		FROM usage_events WHERE created_at < date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' GROUP BY 1, 2, 3`,
	"usage_hourly": `SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, count(*),
		sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), sum(cost), count(*) FILTER (WHERE status = 'failed')
		FROM usage_events WHERE created_at < $1 GROUP BY 1, 2, 3`,
}

// checkCoarse fails unless every coarse rollup equals its direct aggregation of the raw events
// before until.
func checkCoarse(t *testing.T, st *store.Store, until time.Time, seed uint64) {
	t.Helper()
	for table, direct := range coarseDiffs {
		var diff, n int
		rolled := "SELECT * FROM " + table
		if table == "usage_monthly_user" {
			rolled += " WHERE month < date_trunc('month', $1::date)"
		}
		q := `WITH direct AS (` + direct + `), rolled AS (` + rolled + `)
			SELECT (SELECT count(*) FROM (SELECT * FROM direct EXCEPT ALL SELECT * FROM rolled) a)
			     + (SELECT count(*) FROM (SELECT * FROM rolled EXCEPT ALL SELECT * FROM direct) b), (SELECT count(*) FROM rolled)`
		if err := st.Pool.QueryRow(context.Background(), q, until).Scan(&diff, &n); err != nil {
			t.Fatal(err)
		}
		if diff != 0 || n == 0 {
			t.Fatalf("seed %d: %d rows of %s differ from the raw aggregation (%d rows)", seed, diff, table, n)
		}
	}
}

// Rollups equal a direct aggregation of random raw events, re-running a day changes nothing, and
// every usage question answered from rollups + raw edges equals the same question over raw
// events alone, for random windows.
func TestRollupsMatchRawEvents(t *testing.T) {
	ctx := context.Background()
	for _, seed := range []uint64{1, 2, 3} {
		st := openStore(t)
		rng := rand.New(rand.NewPCG(seed, seed))
		now := time.Now().UTC()
		back := maintainer(st, now.AddDate(0, -2, 0), 13) // partitions for the last two months too
		run(t, back)
		seedRandom(t, st, rng, now, 400)

		m := maintainer(st, now, 13)
		rep := run(t, m)
		if rep.RolledDays < 39 {
			t.Fatalf("seed %d: rolled %d days", seed, rep.RolledDays)
		}
		var diff, rolled int
		if err := st.Pool.QueryRow(ctx, rollupDiff, rep.RolledUntil).Scan(&diff, &rolled); err != nil {
			t.Fatal(err)
		}
		if diff != 0 || rolled == 0 {
			t.Fatalf("seed %d: %d rollup rows differ from the raw aggregation (%d rows)", seed, diff, rolled)
		}
		checkCoarse(t, st, rep.RolledUntil, seed)
		for d := rep.RolledUntil.AddDate(0, 0, -40); d.Before(rep.RolledUntil); d = d.AddDate(0, 0, 1) {
			if err := m.RollupDay(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Pool.QueryRow(ctx, rollupDiff, rep.RolledUntil).Scan(&diff, &rolled); err != nil || diff != 0 {
			t.Fatalf("seed %d: re-running the days changed %d rows (%v)", seed, diff, err)
		}
		checkCoarse(t, st, rep.RolledUntil, seed)

		svc := analytics.New(st, page.NewCursors([]byte("k")), func() time.Time { return now })
		// Last month as a whole plus this one so far: the ranking reads the monthly rollup.
		checkTop(t, svc, st, analytics.Window{From: analytics.MonthStart(now).AddDate(0, -1, 0), To: now}, seed)
		for range 8 {
			from := now.Add(-time.Duration(rng.Int64N(int64(11 * 24 * time.Hour))))
			to := from.Add(time.Duration(1 + rng.Int64N(int64(12*24*time.Hour))))
			w := analytics.Window{From: from, To: to}
			for _, g := range []string{"day", "week", "month", "model", "user", "api_key", "provider"} {
				got, err := svc.GetAnalyticsUsage(ctx, w, g, analytics.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				want := rawUsage(t, st, w, g)
				if len(got.Groups) != len(want) {
					t.Fatalf("seed %d %s %v: %d groups, raw %d", seed, g, w, len(got.Groups), len(want))
				}
				var sum int64
				for _, gr := range got.Groups {
					if want[gr.Key] != [2]int64{gr.Requests, gr.InputTokens} {
						t.Fatalf("seed %d %s %v group %q: %d requests %d input, raw %v", seed, g, w, gr.Key, gr.Requests, gr.InputTokens, want[gr.Key])
					}
					sum += gr.Requests
				}
				if sum != got.Total.Requests {
					t.Fatalf("seed %d: totals %d, groups sum %d", seed, got.Total.Requests, sum)
				}
			}
			checkTop(t, svc, st, w, seed)
			checkHourly(t, svc, st, w, seed)
		}
	}
}

// rawUsage groups the raw events of w directly: requests and input tokens per key.
func rawUsage(t *testing.T, st *store.Store, w analytics.Window, groupBy string) map[string][2]int64 {
	t.Helper()
	key := map[string]string{
		"day": "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')", "week": "to_char(date_trunc('week', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
		"month": "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-01')", "model": "model", "user": "user_id::text",
		"api_key": "coalesce(api_key_id::text, '')", "provider": "provider",
	}[groupBy]
	rows, err := st.Pool.Query(context.Background(), `SELECT `+key+`, count(*), sum(input_tokens) FROM usage_events
		WHERE created_at >= $1 AND created_at < $2 GROUP BY 1`, w.From, w.To)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]int64{}
	for rows.Next() {
		var k string
		var v [2]int64
		if err := rows.Scan(&k, &v[0], &v[1]); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

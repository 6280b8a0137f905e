package analytics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/store"
)

// checkTop fails unless the top users and API keys of w (answered from the monthly, daily and
// raw parts) equal a ranking of w's raw events.
func checkTop(t *testing.T, svc *analytics.Service, st *store.Store, w analytics.Window, seed uint64) {
	t.Helper()
	for _, by := range []string{"cost", "tokens"} {
		got, err := svc.GetAnalyticsTop(context.Background(), w, by, 2)
		if err != nil {
			t.Fatal(err)
		}
		for col, groups := range map[string][]analytics.Group{"user_id": got.Users, "api_key_id": got.APIKeys} {
			value := "sum(cost)"
			if by == "tokens" {
				value = "sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens)::numeric"
			}
			want := rawRows(t, st, `SELECT `+col+`::text, count(*), sum(input_tokens) FROM usage_events
				WHERE created_at >= $1 AND created_at < $2 AND `+col+` IS NOT NULL
				GROUP BY 1 ORDER BY `+value+` DESC, `+col+`::text COLLATE "C" LIMIT 2`, w.From, w.To)
			var have []string
			for _, g := range groups {
				have = append(have, fmt.Sprint(g.Key, g.Requests, g.InputTokens))
			}
			if fmt.Sprint(have) != fmt.Sprint(want) {
				t.Fatalf("seed %d top %s by %s %v: %v, raw %v", seed, col, by, w, have, want)
			}
		}
	}
}

// checkHourly fails unless the hourly requests and tokens series of w (whole days from
// usage_hourly, edges from raw events) equals hour buckets of w's raw events. Windows longer
// than the hourly limit are skipped.
func checkHourly(t *testing.T, svc *analytics.Service, st *store.Store, w analytics.Window, seed uint64) {
	t.Helper()
	if w.To.Sub(w.From) > 31*24*time.Hour {
		return
	}
	for _, metric := range []string{"requests", "tokens"} {
		got, err := svc.GetAnalyticsTimeseries(context.Background(), w, metric, "hour")
		if err != nil {
			t.Fatal(err)
		}
		value := "count(*)"
		if metric == "tokens" {
			value = "sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens)"
		}
		want := rawRows(t, st, `SELECT to_char(date_trunc('hour', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24'), `+value+`, 0
			FROM usage_events WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 1`, w.From, w.To)
		var have []string
		for _, p := range got.Points {
			if p.Value != 0 {
				have = append(have, fmt.Sprint(p.Start.UTC().Format("2006-01-02 15"), int64(p.Value), 0))
			}
		}
		if fmt.Sprint(have) != fmt.Sprint(want) {
			t.Fatalf("seed %d hourly %s %v:\n%v\nraw %v", seed, metric, w, have, want)
		}
	}
}

// rawRows runs a query of (text, bigint, bigint) rows and prints each as "a b c".
func rawRows(t *testing.T, st *store.Store, sql string, args ...any) []string {
	t.Helper()
	rows, err := st.Pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		var a, b int64
		if err := rows.Scan(&k, &a, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(k, a, b))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

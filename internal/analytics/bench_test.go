package analytics_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
)

// BenchmarkAnalytics runs the four questions against the database that
// scripts/bench-analytics.sh builds (10 million events, 12 months, 10,000 users); it is skipped
// without CCB_BENCH_ANALYTICS_URL. The first run rolls the year up (reported once).
func BenchmarkAnalytics(b *testing.B) {
	url := os.Getenv("CCB_BENCH_ANALYTICS_URL")
	if url == "" {
		b.Skip("CCB_BENCH_ANALYTICS_URL is not set (scripts/bench-analytics.sh sets it)")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	rep, err := analytics.NewMaintainer(st, time.Now, 13, slog.New(slog.NewTextHandler(io.Discard, nil))).Run(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if rep.RolledDays > 2 {
		b.Logf("maintenance rolled up %d days in %v", rep.RolledDays, time.Since(start).Round(time.Millisecond))
	}
	svc := analytics.New(st, page.NewCursors([]byte("bench")), time.Now)
	now := time.Now().UTC()
	lastMonth := analytics.Window{From: analytics.MonthStart(now).AddDate(0, -1, 0), To: analytics.MonthStart(now)}
	last30 := analytics.Window{From: analytics.Day(now).AddDate(0, 0, -29), To: now}
	last7 := analytics.Window{From: now.Add(-7 * 24 * time.Hour), To: now}
	ids := make([]uuid.UUID, 0, 10000)
	rows, err := st.Pool.Query(ctx, `SELECT id FROM users WHERE email LIKE 'bench-%' ORDER BY email`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	user := func(i int) uuid.UUID { return ids[(i*7919)%len(ids)] }
	cases := []struct {
		name string
		run  func(i int) error
	}{
		{"user_month_by_day", func(i int) error {
			_, err := svc.GetUsage(ctx, user(i), lastMonth, "day", nil)
			return err
		}},
		{"admin_30d_by_model", func(int) error {
			_, err := svc.GetAnalyticsUsage(ctx, last30, "model", analytics.Filter{})
			return err
		}},
		{"admin_top20_users_by_cost_month", func(int) error {
			_, err := svc.GetAnalyticsTop(ctx, lastMonth, "cost", 20)
			return err
		}},
		{"admin_timeseries_hour_7d", func(int) error {
			_, err := svc.GetAnalyticsTimeseries(ctx, last7, "requests", "hour")
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			durations := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := c.run(i); err != nil {
					b.Fatal(err)
				}
				durations = append(durations, time.Since(t0))
			}
			slices.Sort(durations)
			b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(durations[len(durations)*95/100].Microseconds())/1000, "p95_ms")
		})
	}
}

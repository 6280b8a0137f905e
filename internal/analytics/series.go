package analytics

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
)

// maxHourly is the longest window answered in hour buckets (744 points).
const maxHourly = 31 * 24 * time.Hour

// Point is one bucket of a timeseries: [Start, Start+interval) clipped to the window.
type Point struct {
	Start time.Time
	Value float64
}

// Series is one metric over a window in hour or day buckets, every bucket present.
type Series struct {
	Window
	Metric, Interval string
	Points           []Point
}

// GetAnalyticsTimeseries is one metric (requests, tokens, cost, errors, active_users) over w in
// hour or day buckets (UTC); empty buckets are zeros.
func (s *Service) GetAnalyticsTimeseries(ctx context.Context, w Window, metric, interval string) (Series, error) {
	if interval == "hour" && w.To.Sub(w.From) > maxHourly {
		return Series{}, invalidParam("interval", "hour buckets need a window of at most 31 days")
	}
	values := map[time.Time]float64{}
	step := func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	start := Day(w.From)
	// Everyone's usage, no caller's own write: lag-tolerant (the replica when usable).
	err := s.store.ReadSnapshot(ctx, uuid.Nil, func(q *db.Queries) error {
		switch {
		case interval == "hour" && metric == "active_users":
			rows, err := q.UsageHourlyActiveUsers(ctx, db.UsageHourlyActiveUsersParams{FromAt: w.From, ToAt: w.To})
			for _, r := range rows {
				values[r.Bucket.UTC()] = float64(r.ActiveUsers)
			}
			return err
		case interval == "hour":
			until, err := rolledUntil(ctx, q)
			if err != nil {
				return err
			}
			rollFrom, rollTo := w.split(until)
			rows, err := q.UsageHourly(ctx, db.UsageHourlyParams{RollupFromAt: rollFrom, RollupToAt: rollTo, RawFrom: w.From, RawTo: w.To})
			for _, r := range rows {
				values[r.Bucket.UTC()] = metricOf(metric, Totals{Requests: r.Requests, InputTokens: r.Tokens, Cost: r.Cost, Errors: r.Errors})
			}
			return err
		}
		rows, err := groups(ctx, q, w, "day", Filter{}, metric == "active_users")
		for _, r := range rows {
			if day, perr := time.Parse(time.DateOnly, r.Key); perr == nil && !r.Total {
				values[day] = metricOf(metric, totalsOf(r))
			}
		}
		return err
	})
	if interval == "hour" {
		step = func(t time.Time) time.Time { return t.Add(time.Hour) }
		start = w.From.Truncate(time.Hour)
	}
	out := Series{Window: w, Metric: metric, Interval: interval, Points: []Point{}}
	for t := start; t.Before(w.To); t = step(t) {
		out.Points = append(out.Points, Point{Start: t, Value: values[t]})
	}
	return out, err
}

func metricOf(metric string, t Totals) float64 {
	switch metric {
	case "tokens":
		return float64(t.Tokens())
	case "cost":
		return t.Cost
	case "errors":
		return float64(t.Errors)
	case "active_users":
		return float64(t.ActiveUsers)
	}
	return float64(t.Requests)
}

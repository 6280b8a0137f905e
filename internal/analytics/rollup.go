package analytics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/gen/db"
)

// rollupDelay keeps a day out of the rollups until this long after it ended: events are stamped
// when a request ends and reach the table through the batch writer moments later, so a day rolled
// up at once could miss its last events, and days before rolled_until are answered from the
// rollups alone.
const rollupDelay = 15 * time.Minute

// Day is the UTC day holding t.
func Day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// RollupDay recomputes one UTC day of usage_daily, its coarse rollups and its month's rollup
// from usage_events: the day's rows are replaced in one transaction, so running it again gives
// the same rows.
func (m *Maintainer) RollupDay(ctx context.Context, day time.Time) error {
	return m.rollupDay(ctx, Day(day), true)
}

// rollupDay replaces day in every daily rollup and, when refreshMonth or when day ends its month
// (the month becomes readable then), the month's rollup, all in one transaction. The month is
// summed from its days, so the maintenance loop leaves it to the month's last day.
func (m *Maintainer) rollupDay(ctx context.Context, day time.Time, refreshMonth bool) error {
	end := day.AddDate(0, 0, 1)
	month := MonthStart(day)
	err := m.store.InTx(ctx, func(q *db.Queries) error {
		if err := q.DeleteUsageDay(ctx, db.DeleteUsageDayParams{Day: day, DayStart: day, DayEnd: end}); err != nil {
			return err
		}
		if _, err := q.InsertUsageDay(ctx, db.InsertUsageDayParams{Day: day, DayStart: day, DayEnd: end}); err != nil {
			return err
		}
		if err := q.InsertUsageDayModel(ctx, day); err != nil {
			return err
		}
		if err := q.InsertUsageDayUser(ctx, day); err != nil {
			return err
		}
		if err := q.InsertUsageDayHours(ctx, db.InsertUsageDayHoursParams{DayStart: day, DayEnd: end}); err != nil {
			return err
		}
		if refreshMonth || !MonthStart(end).Equal(month) {
			if err := q.DeleteUsageMonth(ctx, month); err != nil {
				return err
			}
			if err := q.InsertUsageMonth(ctx, db.InsertUsageMonthParams{Month: month, MonthEnd: month.AddDate(0, 1, 0)}); err != nil {
				return err
			}
		}
		return q.SetRollupState(ctx, end)
	})
	if err != nil {
		return fmt.Errorf("analytics: rollup %s: %w", day.Format(time.DateOnly), err)
	}
	return nil
}

// rollup brings usage_daily up to the last complete day: from the day before the previous run's
// end (re-rolled in case an event arrived late), or from the first event on a first run; days
// past retention are neither rolled up nor kept.
func (m *Maintainer) rollup(ctx context.Context, now time.Time) (int, time.Time, error) {
	through := Day(now.Add(-rollupDelay))
	oldest := MonthStart(m.retentionCutoff(now))
	q := m.store.Queries()
	var start time.Time
	until, err := q.GetRollupState(ctx)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		start = through
		first, err := q.FirstUsageEventAt(ctx)
		switch {
		case err == nil:
			start = Day(first)
		case !errors.Is(err, pgx.ErrNoRows):
			return 0, time.Time{}, fmt.Errorf("analytics: rollup start: %w", err)
		}
	case err != nil:
		return 0, time.Time{}, fmt.Errorf("analytics: rollup state: %w", err)
	default:
		start = until.AddDate(0, 0, -1)
	}
	if start.Before(oldest) {
		start = oldest
	}
	n := 0
	for d := start; d.Before(through); d = d.AddDate(0, 0, 1) {
		if err := m.rollupDay(ctx, d, false); err != nil {
			return n, d, err
		}
		n++
	}
	if err := q.SetRollupState(ctx, through); err != nil {
		return n, through, fmt.Errorf("analytics: rollup state: %w", err)
	}
	if _, err := q.DeleteUsageDaysBefore(ctx, db.DeleteUsageDaysBeforeParams{Day: oldest, DayStart: oldest}); err != nil {
		return n, through, fmt.Errorf("analytics: rollup retention: %w", err)
	}
	return n, through, nil
}

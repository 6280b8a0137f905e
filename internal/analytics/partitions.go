// Package analytics keeps usage_events partitioned and rolled up, and answers usage questions
// (the caller's own and the administrators') from the rollups plus the live raw events.
package analytics

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier runs SQL; the pgx pool, a connection and a transaction all are one. Maintenance SQL
// goes through it directly because sqlc cannot see pg_inherits or run DDL with computed names.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Partition is one monthly partition of usage_events.
type Partition struct {
	Name     string
	From, To time.Time // [From, To) UTC
	// DetachPending marks a partition whose DETACH … CONCURRENTLY was interrupted.
	DetachPending bool
}

// Partitions lists usage_events' partitions in order of their ranges.
func Partitions(ctx context.Context, q Querier) ([]Partition, error) {
	rows, err := q.Query(ctx, `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), i.inhdetachpending
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'usage_events'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("analytics: list partitions: %w", err)
	}
	var out []Partition
	for rows.Next() {
		var p Partition
		var bound string
		if err := rows.Scan(&p.Name, &bound, &p.DetachPending); err != nil {
			return nil, fmt.Errorf("analytics: list partitions: %w", err)
		}
		if p.From, p.To, err = parseBound(bound); err != nil {
			return nil, fmt.Errorf("analytics: partition %s: %w", p.Name, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: list partitions: %w", err)
	}
	sortPartitions(out)
	return out, nil
}

func sortPartitions(ps []Partition) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].From.Before(ps[j-1].From); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// boundRe reads pg_get_expr's "FOR VALUES FROM ('…') TO ('…')"; the literals are printed in the
// session's time zone with its offset, so they parse to the same instants whatever that zone is.
var boundRe = regexp.MustCompile(`^FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)$`)

func parseBound(expr string) (from, to time.Time, err error) {
	m := boundRe.FindStringSubmatch(expr)
	if m == nil {
		return from, to, fmt.Errorf("unexpected bound %q", expr)
	}
	if from, err = parseTimestamptz(m[1]); err != nil {
		return from, to, err
	}
	to, err = parseTimestamptz(m[2])
	return from, to, err
}

func parseTimestamptz(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999-07:00:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unexpected partition bound %q", s)
}

// MonthStart is the first instant of t's month in UTC.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// covers reports whether one partition holds the whole month starting at m.
func covers(parts []Partition, m time.Time) bool {
	end := m.AddDate(0, 1, 0)
	for _, p := range parts {
		if !p.DetachPending && !p.From.After(m) && !p.To.Before(end) {
			return true
		}
	}
	return false
}

// MonthsAhead is how many whole months beyond the current one are covered without a gap (the
// headroom gauge): 3 right after maintenance, 0 when only the current month exists, and -1 when
// even the current month has no partition (inserts are failing).
func MonthsAhead(parts []Partition, now time.Time) int {
	m := MonthStart(now)
	if !covers(parts, m) {
		return -1
	}
	n := 0
	for covers(parts, m.AddDate(0, n+1, 0)) {
		n++
	}
	return n
}

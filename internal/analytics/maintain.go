package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/internal/periodic"
	"github.com/ccbackend/ccbackend/internal/store"
)

// MonthsKept ahead of the current month by the maintenance job.
const MonthsKept = 3

// maintenanceLock is the advisory lock key held while one instance maintains usage_events.
const maintenanceLock int64 = 0x75736167655f6576 // "usage_ev"

// Maintainer keeps usage_events' partitions ahead, drops those past retention and refreshes
// the daily rollups. Every step is idempotent, and the whole run holds a session advisory lock
// so that replicas doing it at the same moment do not race (DETACH … CONCURRENTLY cannot run in
// a transaction, so the lock is a session lock on one pooled connection).
type Maintainer struct {
	store     *store.Store
	now       func() time.Time
	retention int // months
	log       *slog.Logger
}

// NewMaintainer returns a maintainer keeping retentionMonths of usage events.
func NewMaintainer(st *store.Store, now func() time.Time, retentionMonths int, log *slog.Logger) *Maintainer {
	return &Maintainer{store: st, now: now, retention: retentionMonths, log: log}
}

// Report says what one run did.
type Report struct {
	Locked      bool // false: another instance was running it; nothing was done
	Created     []string
	Dropped     []string
	RolledDays  int
	RolledUntil time.Time
}

// Run does one maintenance pass now.
func (m *Maintainer) Run(ctx context.Context) (Report, error) {
	conn, err := m.store.Pool.Acquire(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("analytics: maintenance: %w", err)
	}
	defer conn.Release()
	var rep Report
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", maintenanceLock).Scan(&rep.Locked); err != nil {
		return rep, fmt.Errorf("analytics: maintenance lock: %w", err)
	}
	if !rep.Locked {
		return rep, nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", maintenanceLock); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // a closed session releases its locks
		}
	}()
	now := m.now().UTC()
	if rep.Created, err = ensurePartitions(ctx, conn, now); err != nil {
		return rep, err
	}
	if rep.Dropped, err = m.dropExpired(ctx, conn, now); err != nil {
		return rep, err
	}
	rep.RolledDays, rep.RolledUntil, err = m.rollup(ctx, now)
	return rep, err
}

// Start runs maintenance once now (a fresh or long-stopped deployment may lack this month's
// partition) and then every interval until ctx ends.
func (m *Maintainer) Start(ctx context.Context, every time.Duration) {
	job := func(ctx context.Context) error {
		rep, err := m.Run(ctx)
		if len(rep.Created)+len(rep.Dropped) > 0 {
			m.log.Info("usage partitions maintained", slog.Any("created", rep.Created), slog.Any("dropped", rep.Dropped))
		}
		return err
	}
	if err := job(ctx); err != nil && ctx.Err() == nil {
		m.log.Error("usage maintenance failed", slog.String("error", err.Error()))
	}
	periodic.Every(ctx, every, m.log, "usage maintenance", job)
}

// partitionName is the one naming scheme: usage_events_YYYY_MM.
func partitionName(month time.Time) string { return "usage_events_" + month.Format("2006_01") }

// literal writes a bound as a UTC literal, independent of the session's time zone.
func literal(t time.Time) string { return "'" + t.UTC().Format("2006-01-02 15:04:05") + "+00'" }

// ensurePartitions creates the current month's partition and MonthsKept more, where missing.
func ensurePartitions(ctx context.Context, q Querier, now time.Time) ([]string, error) {
	parts, err := Partitions(ctx, q)
	if err != nil {
		return nil, err
	}
	var created []string
	for k := 0; k <= MonthsKept; k++ {
		month := MonthStart(now).AddDate(0, k, 0)
		if covers(parts, month) {
			continue
		}
		name := partitionName(month)
		sql := fmt.Sprintf("CREATE TABLE %s PARTITION OF usage_events FOR VALUES FROM (%s) TO (%s)",
			pgx.Identifier{name}.Sanitize(), literal(month), literal(month.AddDate(0, 1, 0)))
		if _, err := q.Exec(ctx, sql); err != nil {
			return created, fmt.Errorf("analytics: create partition %s: %w", name, err)
		}
		created = append(created, name)
	}
	return created, nil
}

// retentionCutoff is the first instant still kept: events before it are past retention.
func (m *Maintainer) retentionCutoff(now time.Time) time.Time { return now.AddDate(0, -m.retention, 0) }

// dropExpired detaches (concurrently, so inserts and queries go on) and drops every partition
// whose whole range is past retention; the current month is never one of them. A detach that an
// earlier run left pending is finalized first.
func (m *Maintainer) dropExpired(ctx context.Context, q Querier, now time.Time) ([]string, error) {
	parts, err := Partitions(ctx, q)
	if err != nil {
		return nil, err
	}
	cutoff := m.retentionCutoff(now)
	current := MonthStart(now)
	var dropped []string
	for _, p := range parts {
		if p.To.After(cutoff) || p.To.After(current) {
			continue
		}
		id := pgx.Identifier{p.Name}.Sanitize()
		detach := "ALTER TABLE usage_events DETACH PARTITION " + id + " CONCURRENTLY"
		if p.DetachPending {
			detach = "ALTER TABLE usage_events DETACH PARTITION " + id + " FINALIZE"
		}
		if _, err := q.Exec(ctx, detach); err != nil {
			return dropped, fmt.Errorf("analytics: detach %s: %w", p.Name, err)
		}
		if _, err := q.Exec(ctx, "DROP TABLE "+id); err != nil {
			return dropped, fmt.Errorf("analytics: drop %s: %w", p.Name, err)
		}
		dropped = append(dropped, p.Name)
	}
	return dropped, nil
}

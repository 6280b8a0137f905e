package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ccbackend/ccbackend/gen/db"
)

// RecentWrites remembers which users wrote lately, across instances: their reads stay on the
// primary until the replica is sure to have replayed the write.
type RecentWrites interface {
	// Wrote records that userID is writing now.
	Wrote(ctx context.Context, userID uuid.UUID) error
	// WroteRecently reports whether userID wrote within the window; an error counts as yes.
	WroteRecently(ctx context.Context, userID uuid.UUID) (bool, error)
}

// ReplicaOptions configure OpenReplica.
type ReplicaOptions struct {
	MaxLag     time.Duration // a replica further behind is not read from
	CheckEvery time.Duration // how often the lag is measured
	Writes     RecentWrites  // whose reads must stay on the primary
	Log        *slog.Logger
}

// ReplicaStatus is the outcome of the last lag check.
type ReplicaStatus struct {
	Usable    bool
	Lag       time.Duration // how far replay is behind; 0 when it has replayed all it received
	Reason    string        // why it is not usable ("" when it is)
	CheckedAt time.Time
}

// ReadRouter sends lag-tolerant reads (lists, search, analytics) to a streaming replica while it
// is reachable and at most MaxLag behind, and to the primary otherwise — and always for a user
// who wrote within the last MaxLag + CheckEvery, so nobody misses their own write.
type ReadRouter struct {
	replica *pgxpool.Pool
	opts    ReplicaOptions
	status  atomic.Pointer[ReplicaStatus]
	// Lag-tolerant reads by where they ran (exported as metrics).
	replicaReads, primaryReads atomic.Int64
	stop                       context.CancelFunc
	done                       chan struct{}
}

// OpenReplica connects a pool to the replica at url (lazily: a replica that is down at start is
// only unusable until it answers) and starts the background lag check.
func OpenReplica(ctx context.Context, url string, opts ReplicaOptions) (*ReadRouter, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: DATABASE_REPLICA_URL cannot be parsed")
	}
	applyPoolDefaults(cfg, url)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: replica: %w", err)
	}
	r := &ReadRouter{replica: pool, opts: opts, done: make(chan struct{})}
	r.status.Store(&ReplicaStatus{Reason: "not checked yet"})
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	r.stop = stop
	r.check(bg) // the first answer before the first request
	go r.watch(bg)
	return r, nil
}

// Close stops the lag check and releases the replica's connections.
func (r *ReadRouter) Close() {
	r.stop()
	<-r.done
	r.replica.Close()
}

// Status is the last lag check's outcome.
func (r *ReadRouter) Status() ReplicaStatus { return *r.status.Load() }

// Reads counts the lag-tolerant reads served by the replica and by the primary.
func (r *ReadRouter) Reads() (replica, primary int64) {
	return r.replicaReads.Load(), r.primaryReads.Load()
}

func (r *ReadRouter) watch(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.opts.CheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.check(ctx)
		}
	}
}

// lagQuery measures the replica. The replay timestamp alone is not the lag: with an idle
// primary it grows old although the replica is current, so a replica whose WAL receiver is
// running and that has replayed everything it received counts as 0 behind.
const lagQuery = `SELECT pg_is_in_recovery(),
	coalesce(EXISTS (SELECT 1 FROM pg_stat_wal_receiver) AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), false),
	coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, -1)`

// check measures the lag once and records whether the replica is usable, logging changes.
func (r *ReadRouter) check(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, r.opts.CheckEvery)
	defer cancel()
	var standby, caughtUp bool
	var behind float64
	st := ReplicaStatus{CheckedAt: time.Now()}
	err := r.replica.QueryRow(cctx, lagQuery).Scan(&standby, &caughtUp, &behind)
	switch {
	case err != nil:
		st.Reason = "unreachable"
	case !standby:
		st.Reason = "not a standby (promoted?)"
	case caughtUp:
		st.Usable = true
	case behind < 0:
		st.Reason = "nothing replayed yet"
	default:
		st.Lag = time.Duration(behind * float64(time.Second))
		st.Usable = st.Lag <= r.opts.MaxLag
		if !st.Usable {
			st.Reason = fmt.Sprintf("lag %s over %s", st.Lag.Round(time.Millisecond), r.opts.MaxLag)
		}
	}
	if ctx.Err() != nil {
		return // shutting down
	}
	prev := r.status.Swap(&st)
	if prev.Usable != st.Usable && r.opts.Log != nil {
		if st.Usable {
			r.opts.Log.Info("read replica in use", slog.Duration("lag", st.Lag))
		} else {
			r.opts.Log.Warn("read replica not used: reads fall back to the primary", slog.String("reason", st.Reason))
		}
	}
}

// markUnreachable is a failed read's verdict, until the next check says otherwise.
func (r *ReadRouter) markUnreachable() {
	prev := r.status.Swap(&ReplicaStatus{Reason: "unreachable", CheckedAt: time.Now()})
	if prev.Usable && r.opts.Log != nil {
		r.opts.Log.Warn("read replica not used: reads fall back to the primary", slog.String("reason", "a read failed"))
	}
}

// route says whether userID's lag-tolerant read may run on the replica.
func (r *ReadRouter) route(ctx context.Context, userID uuid.UUID) bool {
	if !r.status.Load().Usable {
		r.primaryReads.Add(1)
		return false
	}
	if recent, _ := wroteRecentlyIn(ctx, r.opts.Writes, userID); recent {
		r.primaryReads.Add(1)
		return false
	}
	r.replicaReads.Add(1)
	return true
}

// Reader returns queries for a read by userID that tolerates a little lag (a list page, a
// search, analytics): on the replica when it is usable and userID did not write lately, else on
// the primary. A read that fails on the replica for want of it is run again on the primary.
// Anything that must see the latest state (a read before a write, auth, ETags) uses Queries.
func (s *Store) Reader(ctx context.Context, userID uuid.UUID) *db.Queries {
	if s.reads == nil || !s.reads.route(ctx, userID) {
		return s.Queries()
	}
	return db.New(&fallbackDB{replica: s.reads.replica, primary: s.Pool, router: s.reads})
}

// ReadSnapshot is InSnapshot for a read that tolerates a little lag, routed like Reader.
func (s *Store) ReadSnapshot(ctx context.Context, userID uuid.UUID, fn func(q *db.Queries) error) error {
	if s.reads == nil || !s.reads.route(ctx, userID) {
		return s.InSnapshot(ctx, fn)
	}
	err := snapshot(ctx, s.reads.replica, fn)
	if replicaFailed(ctx, err) {
		s.reads.markUnreachable()
		return s.InSnapshot(ctx, fn)
	}
	return MapError(err)
}

// UseReplica makes Reader and ReadSnapshot route through r (nil: every read on the primary).
func (s *Store) UseReplica(r *ReadRouter) { s.reads = r }

// snapshot runs fn in a read-only repeatable-read transaction on pool; errors are not mapped,
// so that the caller can tell a replica failure from fn's own.
func snapshot(ctx context.Context, pool *pgxpool.Pool, fn func(q *db.Queries) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(db.New(tx)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

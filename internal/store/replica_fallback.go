package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// fallbackDB runs a read on the replica and, when the replica fails it for reasons of its own
// (down, restarting, a recovery conflict), once more on the primary: a replica that died since
// the last lag check costs one failed attempt, not a failed request.
type fallbackDB struct {
	replica, primary *pgxpool.Pool
	router           *ReadRouter
}

func (f *fallbackDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := f.replica.Exec(ctx, sql, args...)
	if replicaFailed(ctx, err) {
		f.router.markUnreachable()
		return f.primary.Exec(ctx, sql, args...)
	}
	return tag, err
}

func (f *fallbackDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := f.replica.Query(ctx, sql, args...)
	if replicaFailed(ctx, err) {
		f.router.markUnreachable()
		return f.primary.Query(ctx, sql, args...)
	}
	if err != nil {
		return rows, err
	}
	return &fallbackRows{Rows: rows, f: f, ctx: ctx, sql: sql, args: args}, nil
}

// fallbackRows is a replica's answer to a Query whose failure may only surface while it is read:
// pgx returns from Query once the statement is sent, so a pooled connection the replica closed
// moments ago (too recently used for the pool to ping it) fails in Next. Until a first row has
// been read the query is run again on the primary and its rows are read instead; after that a
// failure is the caller's to see, as rows already handed out cannot be taken back.
type fallbackRows struct {
	pgx.Rows
	f       *fallbackDB
	ctx     context.Context
	sql     string
	args    []any
	settled bool // a row was read or the primary was asked: no more falling back
}

func (r *fallbackRows) Next() bool {
	if r.Rows.Next() {
		r.settled = true
		return true
	}
	if r.settled || !replicaFailed(r.ctx, r.Rows.Err()) {
		return false
	}
	r.settled = true
	r.Rows.Close()
	r.f.router.markUnreachable()
	// A failed Query returns Rows in its error state (pgx's contract), so its error is Err's.
	r.Rows, _ = r.f.primary.Query(r.ctx, r.sql, r.args...)
	return r.Rows.Next()
}

func (f *fallbackDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return fallbackRow{f: f, ctx: ctx, sql: sql, args: args}
}

// SendBatch runs on the primary: batches are writes here (lag-tolerant reads are single queries).
func (f *fallbackDB) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return f.primary.SendBatch(ctx, b)
}

// fallbackRow defers the query to Scan, where a QueryRow's error surfaces.
type fallbackRow struct {
	f    *fallbackDB
	ctx  context.Context
	sql  string
	args []any
}

func (r fallbackRow) Scan(dest ...any) error {
	err := r.f.replica.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
	if replicaFailed(r.ctx, err) {
		r.f.router.markUnreachable()
		return r.f.primary.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
	}
	return err
}

// replicaFailed tells a failure of the replica itself from an answer (no rows, a constraint, the
// caller's own cancellation): connection errors, shutdowns and recovery conflicts.
func replicaFailed(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception, 57P: operator intervention (shutdown, cannot connect now),
		// 40001 on a standby: canceled because of a conflict with recovery.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || pgErr.Code == "40001"
	}
	return true // no server answer at all: dial, reset, timeout of the connection
}

// Package store owns the connections to PostgreSQL and Redis: pools, migrations, transactions and
// the one mapping of PostgreSQL errors to application errors.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Store is the PostgreSQL side of the service.
type Store struct {
	Pool  *pgxpool.Pool
	reads *ReadRouter // lag-tolerant reads (replica.go); nil: every read on the primary
}

// Open connects a pool to databaseURL and checks that the server answers.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's message can quote the URL, password included.
		return nil, errors.New("store: DATABASE_URL cannot be parsed")
	}
	applyPoolDefaults(cfg, databaseURL)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: ping %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return &Store{Pool: pool}, nil
}

// Close releases every connection.
func (s *Store) Close() {
	if s.reads != nil {
		s.reads.Close()
	}
	s.Pool.Close()
}

// Queries returns the generated queries on the pool, for single statements.
func (s *Store) Queries() *db.Queries { return db.New(s.Pool) }

// Ping runs a query through the pool: a reachable server that cannot run queries is not ready.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.Queries().Ping(ctx)
	return err
}

// InTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise (and on
// panic). Do no Redis or HTTP calls inside fn.
func (s *Store) InTx(ctx context.Context, fn func(q *db.Queries) error) error {
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return MapError(fmt.Errorf("store: begin: %w", err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(db.New(tx)); err != nil {
		return MapError(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return MapError(fmt.Errorf("store: commit: %w", err))
	}
	return nil
}

// MapError turns PostgreSQL errors into application errors (an outage into a 503, see Outage);
// anything else passes through.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.Wrap(err, apperr.NotFound, "not_found", "the resource does not exist")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return apperr.Wrap(err, apperr.Conflict, "conflict", "a resource with the same unique value already exists")
		case "23503": // foreign_key_violation
			return apperr.Wrap(err, apperr.NotFound, "not_found", "a referenced resource does not exist")
		case "23514", "22001", "22P02": // check_violation, string_data_right_truncation, invalid_text_representation
			return apperr.Wrap(err, apperr.Invalid, "invalid_value", "a value is out of range or malformed")
		// character_not_in_repertoire (a NUL or invalid UTF-8 in text), untranslatable_character
		// (\u0000 in jsonb): the client sent characters PostgreSQL cannot store.
		case "22021", "22P05":
			return apperr.Wrap(err, apperr.Invalid, "invalid_value", "a value holds characters that cannot be stored (such as NUL)")
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return apperr.Wrap(err, apperr.Conflict, "concurrent_update", "a concurrent change conflicted; retry the request")
		case "57014": // query_canceled
			return apperr.Wrap(err, apperr.Timeout, "timeout", "the request took too long")
		}
	}
	// Before the generic deadline: a deadline that ran out while connecting to or talking to
	// PostgreSQL is an outage (503), not a slow request (504).
	if o := Outage(err); o != nil {
		return o
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return apperr.Wrap(err, apperr.Timeout, "timeout", "the request took too long")
	}
	return err
}

// InSnapshot runs fn in a read-only repeatable-read transaction: every query sees one snapshot.
func (s *Store) InSnapshot(ctx context.Context, fn func(q *db.Queries) error) error {
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return MapError(fmt.Errorf("store: begin: %w", err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(db.New(tx)); err != nil {
		return MapError(err)
	}
	return MapError(tx.Commit(ctx))
}

// EscapeLike makes user text literal inside a LIKE pattern.
func EscapeLike(s string) string { return likeEscaper.Replace(s) }

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

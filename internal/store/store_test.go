package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func open(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func TestInTxRollsBackOnError(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := st.InTx(ctx, func(q *db.Queries) error {
		if _, err := st.Pool.Exec(ctx, "SELECT 1"); err != nil { // outside the tx: unaffected
			return err
		}
		if _, err := insertUser(ctx, q, "a@example.com"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the callback's error", err)
	}
	var n int
	if err := st.Pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil || n != 0 {
		t.Errorf("after rollback users = %d (%v), want 0", n, err)
	}
}

func TestUniqueViolationIsConflict(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := context.Background()
	err := st.InTx(ctx, func(q *db.Queries) error {
		if _, err := insertUser(ctx, q, "b@example.com"); err != nil {
			return err
		}
		_, err := insertUser(ctx, q, "B@Example.com") // unique case-insensitively
		return err
	})
	if apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("duplicate email: %v, want Conflict", err)
	}
}

func TestMissingRowIsNotFound(t *testing.T) {
	t.Parallel()
	st := open(t)
	_, err := st.Queries().GetUser(context.Background(), uuid.New())
	if apperr.KindOf(store.MapError(err)) != apperr.NotFound {
		t.Fatalf("GetUser(random) = %v, want NotFound", err)
	}
}

// insertUser writes a minimal account.
func insertUser(ctx context.Context, q *db.Queries, email string) (uuid.UUID, error) {
	u, err := q.CreateUser(ctx, db.CreateUserParams{Email: email, PasswordHash: "x", Roles: []string{"user"}})
	return u.ID, err
}

// TestCharactersPostgresCannotStoreAreInvalid: a NUL or a byte sequence that is not UTF-8 is
// the client's error (400), not an internal one, whichever path lets it reach PostgreSQL.
func TestCharactersPostgresCannotStoreAreInvalid(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := context.Background()
	cases := []struct {
		name, code string
		run        func(q *db.Queries) error
	}{
		{"NUL in text", "22021", func(q *db.Queries) error {
			_, err := insertUser(ctx, q, "nul\x00@example.com")
			return err
		}},
		{"invalid UTF-8 in text", "22021", func(q *db.Queries) error {
			_, err := insertUser(ctx, q, "bad\xff\xfe@example.com")
			return err
		}},
		{"NUL escape in jsonb", "22P05", func(*db.Queries) error {
			_, err := st.Pool.Exec(ctx, `SELECT $1::text::jsonb`, `{"k":"\u0000"}`)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := st.InTx(ctx, tc.run)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tc.code {
				t.Fatalf("err = %v, want SQLSTATE %s from PostgreSQL", err, tc.code)
			}
			if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Invalid || ae.Code != "invalid_value" {
				t.Errorf("mapped to %v, want Invalid invalid_value", err)
			}
		})
	}
}

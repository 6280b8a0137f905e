package auth_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// With Redis unreachable, revocation checks go to PostgreSQL: nothing is skipped.
func TestFamilyRevokedFallsBackToPostgres(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var live, revoked uuid.UUID
	err = st.InTx(ctx, func(q *db.Queries) error {
		u, err := q.CreateUser(ctx, db.CreateUserParams{Email: "r@example.com", PasswordHash: "x", Roles: []string{"user"}})
		if err != nil {
			return err
		}
		now := time.Now()
		a, err := q.CreateRefreshFamily(ctx, db.CreateRefreshFamilyParams{UserID: u.ID, Audience: "claude-code-ios", Now: now})
		if err != nil {
			return err
		}
		b, err := q.CreateRefreshFamily(ctx, db.CreateRefreshFamilyParams{UserID: u.ID, Audience: "claude-code-ios", Now: now})
		if err != nil {
			return err
		}
		reason := "test"
		live, revoked = a.ID, b.ID
		return q.RevokeRefreshFamily(ctx, db.RevokeRefreshFamilyParams{Now: &now, Reason: &reason, ID: b.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer dead.Close()
	r := auth.NewRevocations(dead, "x:", st, time.Minute, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	for id, want := range map[uuid.UUID]bool{live: false, revoked: true, uuid.New(): true} {
		got, err := r.FamilyRevoked(ctx, id)
		if err != nil || got != want {
			t.Errorf("FamilyRevoked(%s) = %t, %v; want %t", id, got, err, want)
		}
	}
}

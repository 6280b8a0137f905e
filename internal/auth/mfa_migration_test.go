package auth_test

import (
	"context"
	"testing"

	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// The MFA migration (000011) goes down and up again: its tables and columns disappear and return,
// and families from before it get an auth_time.
func TestMFAMigrationDownAndUp(t *testing.T) {
	ctx := context.Background()
	url := testutil.NewDatabase(t)
	mig, err := store.NewMigrator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer mig.Close()
	v, _, err := mig.Version()
	if err != nil {
		t.Fatal(err)
	}
	if err := mig.Down(int(v) - 10); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var exists bool
	if err := st.Pool.QueryRow(ctx, `SELECT to_regclass('user_totp') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("user_totp after down: %v %v", exists, err)
	}
	var family string
	if err := st.Pool.QueryRow(ctx, `WITH u AS (INSERT INTO users (email, email_skeleton, password_hash, roles) VALUES ('m@example.com', 'm@example.com', 'x', '{user}') RETURNING id)
		INSERT INTO refresh_families (user_id, audience) SELECT id, 'claude-code-ios' FROM u RETURNING id`).Scan(&family); err != nil {
		t.Fatal(err)
	}
	if err := mig.Up(); err != nil {
		t.Fatal(err)
	}
	st.Pool.Reset()
	var backfilled bool
	var amr []string
	if err := st.Pool.QueryRow(ctx, `SELECT auth_time = created_at, amr FROM refresh_families WHERE id = $1`, family).Scan(&backfilled, &amr); err != nil || !backfilled || len(amr) != 1 || amr[0] != "pwd" {
		t.Fatalf("old family after up: auth_time = created_at %v, amr %v (%v)", backfilled, amr, err)
	}
	for _, table := range []string{"user_totp", "recovery_codes", "mfa_logins"} {
		if err := st.Pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
			t.Errorf("%s after up: %v %v", table, exists, err)
		}
	}
}

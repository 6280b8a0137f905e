package testutil

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewEmptyDatabase creates a database with no schema at all (what a first deployment, or a restore
// target, starts from) and drops it when t ends. The URL always names PostgreSQL itself, never a
// pooler: migrations and restores need a session of their own.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, adminURL := connectAdmin(ctx, t)
	defer admin.Close(ctx)
	return withDatabase(adminURL, createDatabase(ctx, t, admin, adminURL, "ccb_empty_"+randomSuffix(), "template0"))
}

// dropDatabase drops name, ending its remaining sessions.
func dropDatabase(t testing.TB, adminURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Errorf("testutil: drop %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
		t.Errorf("testutil: drop %s: %v", name, err)
	}
}

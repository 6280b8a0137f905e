package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
	"github.com/jackc/pgx/v5"
)

// `keys rotate` fails, printing no kid, when it cannot load its configuration, reach the database,
// or write the new key (a database nobody migrated); an operator must never read a kid that was
// not stored.
func TestKeysRotateFailures(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad configuration", map[string]string{"CCB_LOG_LEVEL": "loud"}, "CCB_LOG_LEVEL"},
		{"no database", map[string]string{"DATABASE_URL": "postgres://postgres@" + freeAddr(t) + "/x?sslmode=disable&connect_timeout=2"}, "store: ping"},
		{"unmigrated database", map[string]string{"DATABASE_URL": testutil.NewEmptyDatabase(t)}, "signing_keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"keys", "rotate"}, func(k string) string { return tc.env[k] }, nil, &out)
			if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("keys rotate = %v, want a failure mentioning %q", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("keys rotate printed %q although it failed", out.String())
			}
		})
	}
}

// A migration that died halfway leaves the schema marked dirty; `migrate up` and `migrate down`
// must then refuse (golang-migrate's ErrDirty) instead of applying more on top of a half-applied
// step, and `migrate version` must still say where it stands so the operator can repair it.
func TestMigrateRefusesADirtyDatabase(t *testing.T) {
	dbURL := testutil.NewDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	getenv := func(k string) string { return map[string]string{"DATABASE_URL": dbURL}[k] }
	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "down", "1"}} {
		var out bytes.Buffer
		err := run(ctx, args, getenv, nil, &out)
		if err == nil || !strings.Contains(err.Error(), "Dirty") {
			t.Errorf("%v on a dirty database = %v, want a refusal naming it dirty", args, err)
		}
		if out.Len() != 0 {
			t.Errorf("%v printed %q although it refused", args, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"migrate", "version"}, getenv, nil, &out); err != nil || !strings.Contains(out.String(), "dirty=true") {
		t.Errorf("migrate version = %q, %v; want dirty=true reported", out.String(), err)
	}
}

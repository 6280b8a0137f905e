package testutil

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	dbschema "github.com/ccbackend/ccbackend/db"
	"github.com/ccbackend/ccbackend/internal/app"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/store"
)

// NewDatabase creates a fresh database for t from a migrated template and drops it when t ends.
// The template is named after a hash of the migrations, so a schema change builds a new one;
// building it is serialised across test processes with an advisory lock. With
// CCB_TEST_POOLER=pgbouncer the URL returned goes through a PgBouncer of its own.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, adminURL := connectAdmin(ctx, t)
	defer admin.Close(ctx)
	template, err := ensureTemplate(ctx, admin, adminURL)
	if err != nil {
		t.Fatalf("testutil: template database: %v", err)
	}
	name := createDatabase(ctx, t, admin, adminURL, "ccb_test_"+randomSuffix(), template)
	if pooledTests() {
		return store.ForPooler(StartPgBouncer(t, withDatabase(adminURL, name)), config.PoolerPgBouncer)
	}
	return withDatabase(adminURL, name)
}

// connectAdmin connects to the server of the test configuration's DATABASE_URL, to create and
// drop databases.
func connectAdmin(ctx context.Context, t testing.TB) (*pgx.Conn, string) {
	t.Helper()
	adminURL := BaseConfig(t).DatabaseURL
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("testutil: connect to PostgreSQL: %v", err)
	}
	return admin, adminURL
}

// createDatabase creates name as a copy of template and drops it when t ends.
func createDatabase(ctx context.Context, t testing.TB, admin *pgx.Conn, adminURL, name, template string) string {
	t.Helper()
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("testutil: create database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(t, adminURL, name) })
	return name
}

func ensureTemplate(ctx context.Context, admin *pgx.Conn, adminURL string) (string, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "ccb_tmpl_" + hash[:16]
	lockID := int64(binary.BigEndian.Uint64([]byte(hash[:8])))
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return "", err
	}
	defer func() { _, _ = admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID) }()

	// A template is usable once its comment says so; a half-built one (crashed run) is rebuilt.
	var ready bool
	err = admin.QueryRow(ctx, `SELECT coalesce(shobj_description(oid, 'pg_database') = 'ready', false)
		FROM pg_database WHERE datname = $1`, name).Scan(&ready)
	if err == nil && ready {
		return name, nil
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", name)); err != nil {
		return "", err
	}
	if err := app.Migrate(withDatabase(adminURL, name)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS 'ready'", name)); err != nil {
		return "", err
	}
	return name, nil
}

// migrationsHash fingerprints every migration file, names and contents.
func migrationsHash() (string, error) {
	names, err := fs.Glob(dbschema.Migrations, "migrations/*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(dbschema.Migrations, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n%d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func withDatabase(databaseURL, name string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		panic(err) // config.Load already parsed it
	}
	u.Path = "/" + name
	return u.String()
}

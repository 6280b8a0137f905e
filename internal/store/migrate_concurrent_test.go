package store_test

import (
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"

	dbschema "github.com/ccbackend/ccbackend/db"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// Several instances starting at once on an empty database (a rollout with migrate-on-start, or a
// Job retried beside a pod) must all succeed and leave the schema migrated exactly once:
// golang-migrate serialises them with a PostgreSQL advisory lock.
func TestMigrationsAreSafeWhenInstancesStartAtOnce(t *testing.T) {
	url := testutil.NewEmptyDatabase(t)
	const instances = 5
	var wg sync.WaitGroup
	errs := make([]error, instances)
	start := make(chan struct{})
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := store.NewMigrator(url)
			if err != nil {
				errs[i] = err
				return
			}
			defer m.Close()
			<-start
			errs[i] = m.Up()
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}

	m, err := store.NewMigrator(url)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	version, dirty, err := m.Version()
	if err != nil || dirty || version != latestMigration(t) {
		t.Fatalf("after concurrent starts: version %d dirty %v err %v, want %d clean", version, dirty, err, latestMigration(t))
	}
	st, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var tables int
	if err := st.Pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'users'`).Scan(&tables); err != nil || tables != 1 {
		t.Fatalf("users table: %d %v", tables, err)
	}
}

// latestMigration is the highest version among the embedded migrations.
func latestMigration(t *testing.T) uint {
	t.Helper()
	names, err := fs.Glob(dbschema.Migrations, "migrations/*.up.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v", err)
	}
	var latest uint
	for _, n := range names {
		v, err := strconv.ParseUint(strings.SplitN(strings.TrimPrefix(n, "migrations/"), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", n, err)
		}
		latest = max(latest, uint(v))
	}
	return latest
}

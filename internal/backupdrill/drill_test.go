// Package backupdrill_test is the backup drill of README "Backups and restore": a database seeded
// through the running service is backed up with scripts/backup.sh, restored with
// scripts/restore.sh into an empty database, and verified against the backup's manifest.
package backupdrill_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestBackupRestoreDrill(t *testing.T) {
	for _, tool := range []string{"pg_dump", "pg_restore", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: install postgresql-client (scripts/ensure-tools.sh)", tool)
		}
	}
	source := testutil.NewDatabase(t)
	s := testutil.NewServer(t, testutil.WithConfig(func(c *config.Config) { c.DatabaseURL = source }))
	seed(t, s)

	dir := filepath.Join(t.TempDir(), "backup")
	begin := time.Now()
	script(t, "backup.sh", source, dir)
	backupTook := time.Since(begin)

	target := testutil.NewEmptyDatabase(t)
	begin = time.Now()
	script(t, "restore.sh", dir, target)
	t.Logf("backup %v, restore + verify %v", backupTook, time.Since(begin))

	// What verification compared is what the service wrote: every table is in the manifest, and
	// the seeded ones hold the seeded rows.
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for table, atLeast := range map[string]int{"public.users": 3, "public.projects": 6, "public.sessions": 6, "public.messages": 24, "public.api_keys": 3} {
		if n := rows(t, string(manifest), table); n < atLeast {
			t.Errorf("manifest: %s has %d rows, seeded at least %d", table, n, atLeast)
		}
	}

	// A restored database that differs from the backup by one field fails verification.
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE sessions SET title = title || '.' WHERE id = (SELECT id FROM sessions ORDER BY id LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	if out, err := run("restore.sh", "--verify", dir, target); err == nil || !strings.Contains(out, "VERIFY FAILED") || !strings.Contains(out, "public.sessions") {
		t.Fatalf("verify of an altered database: err %v\n%s", err, out)
	}
	// And a restore never goes into a database that already has a schema.
	if out, err := run("restore.sh", dir, target); err == nil || !strings.Contains(out, "not empty") {
		t.Fatalf("restore into a used database: err %v\n%s", err, out)
	}
}

// seed writes through the API what a small deployment holds: users with projects, sessions,
// messages and API keys.
func seed(t *testing.T, s *testutil.Server) {
	t.Helper()
	for u := range 3 {
		user := s.Register(t, fmt.Sprintf("drill-%d@example.com", u))
		if resp, raw := s.Do(t, http.MethodPost, "/v1/auth/api-keys", `{"name":"ci"}`, user.Bearer()); resp.StatusCode != http.StatusCreated {
			t.Fatalf("api key: %d %s", resp.StatusCode, raw)
		}
		for p := range 2 {
			resp, raw := s.Do(t, http.MethodPost, "/v1/projects", fmt.Sprintf(`{"name":"project %d"}`, p), user.Bearer())
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("project: %d %s", resp.StatusCode, raw)
			}
			resp, raw = s.Do(t, http.MethodPost, "/v1/sessions", fmt.Sprintf(`{"title":"session %d ünïcode ✓"}`, p), user.Bearer())
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("session: %d %s", resp.StatusCode, raw)
			}
			id := field(t, raw, "id")
			for m := range 4 {
				body := fmt.Sprintf(`{"role":"user","content":"message %d with \"quotes\" and a\nnewline"}`, m)
				if resp, raw := s.Do(t, http.MethodPost, "/v1/sessions/"+id+"/messages", body, user.Bearer()); resp.StatusCode != http.StatusCreated {
					t.Fatalf("message: %d %s", resp.StatusCode, raw)
				}
			}
		}
	}
}

func field(t *testing.T, raw []byte, name string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	s, _ := v[name].(string)
	if s == "" {
		t.Fatalf("no %s in %s", name, raw)
	}
	return s
}

// rows is the row count the manifest gives table (-1 when it is not listed).
func rows(t *testing.T, manifest, table string) int {
	t.Helper()
	for _, line := range strings.Split(manifest, "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 3 && f[0] == table {
			var n int
			if _, err := fmt.Sscan(f[1], &n); err != nil {
				t.Fatalf("manifest line %q: %v", line, err)
			}
			return n
		}
	}
	return -1
}

func script(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := run(name, args...); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func run(name string, args ...string) (string, error) {
	_, here, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(here), "..", "..", "scripts", name)
	out, err := exec.Command("bash", append([]string{path}, args...)...).CombinedOutput()
	return string(out), err
}

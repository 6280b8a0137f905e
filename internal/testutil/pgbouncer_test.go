package testutil

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPgBouncerStopsWithItsTest: the PgBouncer a test started (as user postgres, under runuser,
// when the test runs as root) is gone once the test ends, not left behind.
func TestPgBouncerStopsWithItsTest(t *testing.T) {
	pid := 0
	t.Run("uses a pgbouncer", func(t *testing.T) {
		u, err := url.Parse(StartPgBouncer(t, NewDatabase(t)))
		if err != nil {
			t.Fatal(err)
		}
		// Its directory is the one whose configuration listens on the URL's port. PgBouncer may
		// write its pid file a moment after it accepts connections (CI once read none).
		for end := time.Now().Add(5 * time.Second); pid <= 0; time.Sleep(20 * time.Millisecond) {
			inis, _ := filepath.Glob(filepath.Join(os.TempDir(), "ccb-pgbouncer-*", "pgbouncer.ini"))
			for _, ini := range inis {
				if conf, _ := os.ReadFile(ini); strings.Contains(string(conf), "listen_port = "+u.Port()+"\n") {
					raw, _ := os.ReadFile(filepath.Join(filepath.Dir(ini), "pgbouncer.pid"))
					pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
				}
			}
			if pid <= 0 && time.Now().After(end) {
				t.Fatal("no pid file for the pgbouncer on port " + u.Port() + " within 5 s")
			}
		}
	})
	if pid <= 0 {
		return // the subtest failed; kill(0, 0) would ask about this process group instead
	}
	for end := time.Now().Add(5 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("pgbouncer (pid %d) still runs after its test ended", pid)
		}
	}
}

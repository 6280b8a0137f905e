package testutil

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/config"
)

// PgBouncerPoolSize is the server connections per database of StartPgBouncer: small, so that
// concurrent clients really share (and switch) server connections.
const PgBouncerPoolSize = 2

// StartPgBouncer runs a PgBouncer in transaction pooling mode on a free loopback port in front of
// databaseURL's server and returns the same database's URL through it. It is stopped when t ends.
// Give the service CCB_DATABASE_POOLER=pgbouncer (Config.Pooler.Kind) or the URL to
// store.ForPooler, as pgx's default query mode does not survive transaction pooling.
func StartPgBouncer(t testing.TB, databaseURL string) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			t.Fatal("testutil: pgbouncer is not installed (scripts/ensure-tools.sh installs Debian's pgbouncer)")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	up, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ccb-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	port := freePort(t)
	user := up.User.Username()
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s/users.txt
pool_mode = transaction
default_pool_size = %d
max_client_conn = 2000
server_reset_query =
logfile = %s/pgbouncer.log
pidfile = %s/pgbouncer.pid
`, up.Hostname(), up.Port(), port, dir, PgBouncerPoolSize, dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), []byte(fmt.Sprintf("%q \"\"\n", user)), 0o644); err != nil {
		t.Fatal(err)
	}
	chownPostgres(t, dir)
	// PgBouncer refuses to run as root.
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", "-u", "postgres", "--", bin, filepath.Join(dir, "pgbouncer.ini"))
	}
	cmd.Dir = "/"
	// Its own process group, killed whole: runuser runs PgBouncer as a child, which killing
	// runuser alone left running after the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("testutil: start pgbouncer: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(end) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("testutil: pgbouncer did not listen on %s:\n%s", addr, log)
		}
	}
	pooled := *up
	pooled.Host = addr
	return pooled.String()
}

// pooledTests is CCB_TEST_POOLER: "pgbouncer" runs every test database through its own
// PgBouncer (make test-pgbouncer); empty connects directly.
func pooledTests() bool { return os.Getenv("CCB_TEST_POOLER") == config.PoolerPgBouncer }

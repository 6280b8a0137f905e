package testutil

import (
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"testing"
)

// needTool fails t with a clear message when a server binary is missing: the test is meant to
// run, not to be skipped (scripts/services.sh installs these Debian packages).
func needTool(t testing.TB, path, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err != nil {
		t.Fatalf("testutil: %s not found (install the Debian package %s, e.g. via scripts/services.sh): %v", path, pkg, err)
	}
	return p
}

// sharedTempDir makes a temp directory other users can enter (t.TempDir is private to root,
// and PostgreSQL runs as postgres), removed when t ends.
func sharedTempDir(t testing.TB, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatalf("testutil: temp dir: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// asUser returns a command that runs as name when the test runs as root, as itself otherwise.
func asUser(name, bin string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", name, "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

// chownTo gives dir to the named user when running as root (a no-op otherwise).
func chownTo(t testing.TB, dir, name string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("testutil: user %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatalf("testutil: chown %s: %v", dir, err)
	}
}

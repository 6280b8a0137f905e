package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/internal/app"
)

// ReplicatedPostgres is a private PostgreSQL primary with a streaming hot standby made by
// pg_basebackup -R, each on its own loopback port, both stopped when the test ends. The primary
// holds one migrated database; its replica holds the same through replication.
type ReplicatedPostgres struct {
	PrimaryURL, ReplicaURL string
	bin, dir, replicaData  string
	replicaPort            int
}

// StartReplicatedPostgres starts the pair (as the postgres user when run as root: PostgreSQL
// refuses root) and waits until the replica serves the migrated schema.
func StartReplicatedPostgres(t testing.TB) *ReplicatedPostgres {
	t.Helper()
	bin := pgBinDir(t)
	dir, err := os.MkdirTemp("", "ccb-pgrepl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	chownPostgres(t, dir)
	r := &ReplicatedPostgres{bin: bin, dir: dir, replicaData: filepath.Join(dir, "replica"), replicaPort: freePort(t)}
	primaryData, primaryPort := filepath.Join(dir, "primary"), freePort(t)
	asPostgres(t, bin+"/initdb", "-D", primaryData, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nwal_level = replica\n"+
		"max_wal_senders = 5\nfsync = off\nfull_page_writes = off\n", primaryPort, dir)
	appendFile(t, filepath.Join(primaryData, "postgresql.conf"), conf)
	r.pgctl(t, primaryData, "start")
	t.Cleanup(func() { r.pgctl(t, primaryData, "stop") })

	base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%%s?sslmode=disable", primaryPort)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, fmt.Sprintf(base, "postgres"))
	if err != nil {
		t.Fatalf("testutil: private primary: %v", err)
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE ccb")
	admin.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.PrimaryURL = fmt.Sprintf(base, "ccb")
	if err := app.Migrate(r.PrimaryURL); err != nil {
		t.Fatalf("testutil: migrate private primary: %v", err)
	}
	// A fast checkpoint: the default (spread) one paces itself over minutes of checkpoint_timeout,
	// which kept the backup waiting ~3 minutes and left its WAL stream open long enough to be cut.
	asPostgres(t, bin+"/pg_basebackup", "-R", "-X", "stream", "--checkpoint=fast", "--no-sync", "-D", r.replicaData, "-d", fmt.Sprintf("host=127.0.0.1 port=%d user=postgres", primaryPort))
	appendFile(t, filepath.Join(r.replicaData, "postgresql.conf"), fmt.Sprintf("port = %d\nhot_standby = on\n", r.replicaPort))
	r.StartReplica(t)
	t.Cleanup(func() { r.pgctl(t, r.replicaData, "stop") })
	r.ReplicaURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/ccb?sslmode=disable", r.replicaPort)
	return r
}

// StopReplica stops the standby at once (as a crash would); StartReplica brings it back.
func (r *ReplicatedPostgres) StopReplica(t testing.TB) { t.Helper(); r.pgctl(t, r.replicaData, "stop") }

// StartReplica starts the standby and waits until it accepts read-only connections.
func (r *ReplicatedPostgres) StartReplica(t testing.TB) {
	t.Helper()
	r.pgctl(t, r.replicaData, "start")
}

// SetReplay pauses (false) or resumes (true) WAL replay on the replica: paused, it falls behind
// the primary's writes while staying reachable.
func (r *ReplicatedPostgres) SetReplay(t testing.TB, on bool) {
	t.Helper()
	fn := "pg_wal_replay_pause"
	if on {
		fn = "pg_wal_replay_resume"
	}
	conn, err := pgx.Connect(context.Background(), r.ReplicaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "SELECT "+fn+"()"); err != nil {
		t.Fatalf("testutil: %s: %v", fn, err)
	}
}

func (r *ReplicatedPostgres) pgctl(t testing.TB, data, action string) {
	t.Helper()
	args := []string{"-D", data, "-w", "-t", "60"}
	switch action {
	case "start":
		args = append(args, "-l", data+".log", "start")
	case "stop":
		if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err != nil {
			return // not running
		}
		args = append(args, "-m", "immediate", "stop")
	}
	asPostgres(t, r.bin+"/pg_ctl", args...)
}

// asPostgres runs a PostgreSQL tool, as the postgres user when the test runs as root.
func asPostgres(t testing.TB, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	cmd.Dir = "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testutil: %s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
}

// chownPostgres makes dir the postgres user's when running as root.
func chownPostgres(t testing.TB, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("testutil: no postgres user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
}

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	cmd := "cat >> " + path
	c := exec.Command("sh", "-c", cmd)
	if os.Geteuid() == 0 {
		c = exec.Command("runuser", "-u", "postgres", "--", "sh", "-c", cmd)
	}
	c.Dir = "/"
	c.Stdin = strings.NewReader(text)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("testutil: append %s: %v\n%s", path, err, out)
	}
}

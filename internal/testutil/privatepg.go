package testutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/internal/app"
)

// PrivatePostgres is a PostgreSQL cluster of the test's own (initdb in a temp dir, a free
// loopback port), so a test can stop and restart it without disturbing anyone. URL names its
// migrated database `ccbackend`.
type PrivatePostgres struct {
	URL  string
	Port int

	t    testing.TB
	bin  string
	data string
	// sockets is where the server puts its Unix socket (it must be able to write there).
	sockets string
	mu      sync.Mutex
	up      bool
}

// StartPostgres creates, starts and migrates a private cluster, stopped when t ends. It needs
// PostgreSQL's server binaries (Debian `postgresql`); as root it runs them as user postgres.
func StartPostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	p := &PrivatePostgres{t: t, bin: pgBinDir(t), Port: freePort(t)}
	root := sharedTempDir(t, "ccb-pg-")
	p.data = filepath.Join(root, "data")
	if err := os.Mkdir(p.data, 0o700); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	chownTo(t, p.data, "postgres")
	p.sockets = filepath.Join(root, "run") // the Unix socket and its lock file
	if err := os.Mkdir(p.sockets, 0o755); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	chownTo(t, p.sockets, "postgres")
	if out, err := asUser("postgres", filepath.Join(p.bin, "initdb"), "-D", p.data, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("testutil: initdb: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.up {
			_ = p.pgCtl("stop", "-m", "immediate")
		}
	})
	p.Start()
	base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%%s?sslmode=disable", p.Port)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, fmt.Sprintf(base, "postgres"))
	if err != nil {
		t.Fatalf("testutil: connect to the private PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE ccbackend"); err != nil {
		t.Fatalf("testutil: create database: %v", err)
	}
	p.URL = fmt.Sprintf(base, "ccbackend")
	if err := app.Migrate(p.URL); err != nil {
		t.Fatalf("testutil: migrate the private PostgreSQL: %v", err)
	}
	return p
}

// Stop kills the server as a crash would (`pg_ctl stop -m immediate`): connections drop at once,
// and the next Start runs crash recovery.
func (p *PrivatePostgres) Stop() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.pgCtl("stop", "-m", "immediate"); err != nil {
		p.t.Fatalf("testutil: stop PostgreSQL: %v", err)
	}
	p.up = false
}

// Start (re)starts the server on the same port and waits until it accepts connections.
func (p *PrivatePostgres) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c max_connections=100", p.Port, p.sockets)
	if err := p.pgCtl("start", "-w", "-t", "60", "-l", filepath.Join(p.data, "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.data, "server.log"))
		p.t.Fatalf("testutil: start PostgreSQL: %v\n%s", err, log)
	}
	p.up = true
}

func (p *PrivatePostgres) pgCtl(args ...string) error {
	out, err := asUser("postgres", filepath.Join(p.bin, "pg_ctl"), append([]string{"-D", p.data}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %w\n%s", args, err, out)
	}
	return nil
}

// pgBinDir finds the server binaries: Debian keeps them in /usr/lib/postgresql/<major>/bin
// (newest first), other systems on PATH.
func pgBinDir(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return filepath.Dir(needTool(t, "initdb", "postgresql"))
}

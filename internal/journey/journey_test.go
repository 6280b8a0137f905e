// Package journey_test runs the generated TypeScript client (gen/clients/ts) against the real
// server: scripts/journey/journey.ts, once under `node --test` and once in headless Chromium on a
// page of another origin, through a proxy that validates every answer against the contract.
package journey_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// chromium is Debian's build (apt package chromium), installed by scripts/ensure-tools.sh.
const chromium = "/usr/bin/chromium"

// TestTypeScriptClientJourney: register → login → profile → project → session → messages →
// two pages of messages → streamed chat completion → sync → single-flight refresh → logout, in
// node and in Chromium. The page's origin is allowed the way an operator would: CCB_CORS_ORIGINS.
func TestTypeScriptClientJourney(t *testing.T) {
	root := repoRoot(t)
	node := requireFile(t, "node", lookPath("node"))
	tsc := requireFile(t, "typescript (npm ci)", filepath.Join(root, "node_modules/.bin/tsc"))
	build := compileJourney(t, root, tsc)

	page := httptest.NewServer(pageHandler(root, build))
	t.Cleanup(page.Close)
	t.Setenv("CCB_CORS_ORIGINS", page.URL)
	s := testutil.NewServer(t)

	t.Run("node", func(t *testing.T) {
		proxy := newValidatingProxy(t, s.URL)
		runNodeTest(t, node, root, "scripts/journey/node.test.mjs", "CCB_JOURNEY_BUILD="+build, "CCB_JOURNEY_API="+proxy.URL)
	})
	t.Run("chromium", func(t *testing.T) {
		requireFile(t, "playwright-core (npm ci)", filepath.Join(root, "node_modules/playwright-core/package.json"))
		requireFile(t, "Debian's chromium (scripts/ensure-tools.sh)", chromium)
		proxy := newValidatingProxy(t, s.URL)
		runNodeTest(t, node, root, "scripts/journey/browser.test.mjs",
			"CCB_JOURNEY_PAGE="+page.URL+"/", "CCB_JOURNEY_API="+proxy.URL, "CCB_CHROMIUM="+chromium)
		// The page's requests carry credentials and JSON: the browser must have asked first.
		if requests, preflights := proxy.seen(page.URL); requests == 0 || preflights == 0 {
			t.Errorf("from %s: %d requests, %d CORS preflights; want both > 0", page.URL, requests, preflights)
		}
	})
}

// repoRoot is the module root (go test runs in the package directory).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

func lookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

// requireFile returns path when it exists. Otherwise the test fails under CI (the journey must
// run there: make test installs everything it needs) and is skipped on a developer's machine.
func requireFile(t *testing.T, what, path string) string {
	t.Helper()
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing (%q); `make test` installs it (scripts/ensure-tools.sh, scripts/npm-deps.sh)", what, path)
	}
	t.Skipf("skipping the TypeScript client journey: %s is missing (%q); `make deps` and scripts/ensure-tools.sh install it", what, path)
	return ""
}

// compileJourney type-checks journey.ts and the generated client and compiles them to ES modules
// in a temporary directory, with the repository's node_modules linked in for node's resolver.
func compileJourney(t *testing.T, root, tsc string) string {
	t.Helper()
	build := t.TempDir()
	cmd := exec.CommandContext(t.Context(), tsc, "-p", "scripts/journey", "--outDir", build)
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc -p scripts/journey: %v\n%s", err, out)
	}
	t.Logf("tsc -p scripts/journey: ok in %v", time.Since(start).Round(time.Millisecond))
	if err := os.Symlink(filepath.Join(root, "node_modules"), filepath.Join(build, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return build
}

// pageHandler serves the browser journey's web app: the page, the compiled modules and
// openapi-fetch's ES module build (page.html's import map points there).
func pageHandler(root, build string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(root, "scripts/journey/page.html"))
	})
	mux.Handle("GET /build/", http.StripPrefix("/build/", http.FileServer(http.Dir(build))))
	mux.Handle("GET /node_modules/openapi-fetch/", http.StripPrefix("/node_modules/openapi-fetch/",
		http.FileServer(http.Dir(filepath.Join(root, "node_modules/openapi-fetch")))))
	return mux
}

// runNodeTest runs one file under `node --test`; its report is shown when it fails (or with -v).
func runNodeTest(t *testing.T, node, root, file string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", file)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	// SIGTERM first: playwright closes the browser it started before it exits.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.Errorf("node --test %s failed (%v, after %v):\n%s", file, err, took, strings.TrimSpace(string(out)))
		return
	}
	t.Logf("node --test %s: ok in %v", file, took)
	if testing.Verbose() {
		t.Log(string(out))
	}
}

// Package scripts_test checks the scripts that gate `make test`: here scripts/coverage.sh, whose
// verdict decides whether a tree below the coverage thresholds can merge.
package scripts_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const mod = "github.com/ccbackend/ccbackend"

// block is one profile line: a block of stmts statements in file, run count times.
func block(file string, line, stmts, count int) string {
	return mod + "/" + file + ":" + strconv.Itoa(line) + ".1," + strconv.Itoa(line) + ".9 " + strconv.Itoa(stmts) + " " + strconv.Itoa(count)
}

// coverage runs scripts/coverage.sh on a profile made of lines with CCB_COVERAGE_ENFORCE=enforce
// and returns its output and exit code.
func coverage(t *testing.T, enforce string, lines ...string) (string, int) {
	t.Helper()
	profile := filepath.Join(t.TempDir(), "coverage.out")
	if err := os.WriteFile(profile, []byte("mode: set\n"+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return runCoverage(t, enforce, profile)
}

func runCoverage(t *testing.T, enforce, profile string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", "coverage.sh", profile)
	// The thresholds are left unset: the script's defaults (90 total, 80 per package) are tested.
	cmd.Env = []string{"CCB_COVERAGE_ENFORCE=" + enforce}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CCB_COVERAGE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("coverage.sh: %v\n%s", err, out)
		return "", -1
	}
}

// row returns the percentage printed for name ("total" or an import path), or fails.
func row(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+([0-9.]+)%`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no row for %s in:\n%s", name, out)
	}
	return m[1]
}

func TestCoveragePrintsEveryPackageAndTheTotal(t *testing.T) {
	out, code := coverage(t, "1",
		block("internal/a/a.go", 1, 9, 1), block("internal/a/a.go", 2, 1, 0), // 90%
		block("cmd/b/main.go", 1, 10, 1), // 100%
	)
	if code != 0 {
		t.Fatalf("exit %d for a tree above the thresholds:\n%s", code, out)
	}
	if row(t, out, mod+"/internal/a") != "90.0" || row(t, out, mod+"/cmd/b") != "100.0" || row(t, out, "total") != "95.0" {
		t.Fatalf("wrong figures:\n%s", out)
	}
}

func TestCoverageEnforcedFailsOnAWeakPackage(t *testing.T) {
	lines := []string{
		block("internal/strong/s.go", 1, 95, 1),
		block("internal/weak/w.go", 1, 3, 1), block("internal/weak/w.go", 2, 2, 0), // 60%, total 98%
	}
	out, code := coverage(t, "1", lines...)
	if code == 0 || !strings.Contains(out, mod+"/internal/weak") || !regexp.MustCompile(`internal/weak\s+60\.0%\s+5\s+< 80%`).MatchString(out) {
		t.Fatalf("exit %d, want a failure marking internal/weak:\n%s", code, out)
	}
	if row(t, out, "total") != "98.0" {
		t.Fatalf("total:\n%s", out)
	}
	out, code = coverage(t, "0", lines...)
	if code != 0 || !strings.Contains(out, "not enforced") {
		t.Fatalf("unenforced: exit %d, want 0 with a warning:\n%s", code, out)
	}
}

func TestCoverageEnforcedFailsOnALowTotal(t *testing.T) {
	out, code := coverage(t, "1",
		block("internal/a/a.go", 1, 85, 1), block("internal/a/a.go", 2, 15, 0), // 85%: every package passes
	)
	if code == 0 || !regexp.MustCompile(`(?m)^total\s+85\.0%\s+100\s+< 90%`).MatchString(out) {
		t.Fatalf("exit %d, want a failure on the 85%% total:\n%s", code, out)
	}
}

// A statement is covered when any test binary ran it: with -coverpkg every binary lists every
// block, most of them unrun.
func TestCoverageMergesBlocksAcrossTestBinaries(t *testing.T) {
	out, code := coverage(t, "1",
		block("internal/a/a.go", 1, 10, 0), block("internal/a/b.go", 1, 10, 1), // binary 1
		block("internal/a/a.go", 1, 10, 3), block("internal/a/b.go", 1, 10, 0), // binary 2
	)
	if code != 0 || row(t, out, mod+"/internal/a") != "100.0" || !regexp.MustCompile(`internal/a\s+100\.0%\s+20\n`).MatchString(out) {
		t.Fatalf("exit %d, want internal/a 100%% of 20 statements:\n%s", code, out)
	}
}

func TestCoverageLeavesTestHelpersOut(t *testing.T) {
	out, code := coverage(t, "1",
		block("internal/a/a.go", 1, 10, 1),
		block("internal/testutil/server.go", 1, 50, 0), block("internal/testutil/pg/pg.go", 1, 50, 0),
		block("internal/llm/llmtest/fake.go", 1, 50, 0),
	)
	if code != 0 || strings.Contains(out, "testutil") || strings.Contains(out, "llmtest") || row(t, out, "total") != "100.0" {
		t.Fatalf("exit %d, want the helpers left out:\n%s", code, out)
	}
}

func TestCoverageFailsWithoutAProfile(t *testing.T) {
	out, code := runCoverage(t, "0", filepath.Join(t.TempDir(), "missing.out"))
	if code == 0 || !strings.Contains(out, "no profile") {
		t.Fatalf("exit %d for a missing profile:\n%s", code, out)
	}
}

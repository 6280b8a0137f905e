package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const reachable = `{"osv": {"id": "GO-2026-0001", "summary": "Panic in Parse"}}
{"finding": {"osv": "GO-2026-0001", "trace": [{"module": "example.com/m", "version": "v1.1.0", "package": "example.com/m", "function": "Parse"}]}}
`

func writeAllowlist(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "allow.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunExitStatus(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	empty := writeAllowlist(t, "accepted: []\n")
	accepting := writeAllowlist(t, "accepted: [{id: GO-2026-0001, reason: no fix yet, review_by: 2027-01-01}]\n")
	expired := writeAllowlist(t, "accepted: [{id: GO-2026-0001, reason: no fix yet, review_by: 2026-12-01}]\n")
	cases := []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string
	}{
		{"usage", nil, "", 2, "usage:"},
		{"no allowlist file", []string{filepath.Join(t.TempDir(), "missing.yaml")}, "", 1, "missing.yaml"},
		{"expired entry", []string{expired}, reachable, 1, "has passed"},
		{"broken scan output", []string{empty}, "{", 1, "govulncheck output"},
		{"reachable, not accepted", []string{empty}, reachable, 1, "vulncheck: FAILED"},
		{"reachable, accepted", []string{accepting}, reachable, 0, "vulncheck: ok"},
		{"nothing found", []string{empty}, "", 0, "vulncheck: ok (0 reachable"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		code := run(c.args, strings.NewReader(c.stdin), &out, now)
		if code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: exit %d, output %q; want exit %d and %q", c.name, code, out.String(), c.code, c.want)
		}
	}
}

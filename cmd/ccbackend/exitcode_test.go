package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The process's exit status is what scripts and orchestrators read: 2 (with the usage text) for a
// command line that cannot be run, 1 for a command that ran and failed, and the reason on stderr
// either way — never on stdout, which carries only results.
func TestExitStatus(t *testing.T) {
	cases := []struct {
		name       string
		args       string
		env        []string
		wantStatus int
		wantStderr []string
	}{
		{"unknown command", "fly", nil, 2, []string{"usage: ccbackend <command>", `ccbackend: usage: unknown command "fly"`}},
		{"no command", "", nil, 2, []string{"usage: ccbackend <command>", "no command"}},
		{"bad configuration", "serve", []string{"CCB_LOG_LEVEL=loud"}, 1, []string{"ccbackend: ", "CCB_LOG_LEVEL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(append(os.Environ(), "CCB_TEST_AS_MAIN=1", "CCB_TEST_ARGS="+tc.args), tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tc.wantStatus {
				t.Fatalf("exit = %v, want status %d\nstderr: %s", err, tc.wantStatus, stderr.String())
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if tc.wantStatus == 1 && strings.Contains(stderr.String(), "usage:") {
				t.Errorf("a failed command printed the usage text:\n%s", stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty on failure: %q", stdout.String())
			}
		})
	}
}

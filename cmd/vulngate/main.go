// Command vulngate decides the vulnerability gate of make test (scripts/vulncheck.sh): it reads
// govulncheck's -format json output on stdin and the allowlist file named by its one argument,
// prints what was found, and exits 1 when a reachable advisory is not accepted or the allowlist
// itself is invalid (an entry without a reason, a passed review date).
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ccbackend/ccbackend/internal/vulngate"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, time.Now()))
}

// run returns the exit status: 0 passed, 1 failed, 2 bad usage.
func run(args []string, stdin io.Reader, out io.Writer, now time.Time) int {
	if len(args) != 1 {
		fmt.Fprintln(out, "usage: govulncheck -format json ./... | vulngate ALLOWLIST.yaml")
		return 2
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(out, "vulngate:", err)
		return 1
	}
	defer f.Close()
	list, err := vulngate.ParseAllowlist(f, now)
	if err != nil {
		fmt.Fprintln(out, "vulngate:", err)
		return 1
	}
	found, err := vulngate.ReadFindings(stdin)
	if err != nil {
		fmt.Fprintln(out, "vulngate:", err)
		return 1
	}
	res := vulngate.Evaluate(found, list)
	res.Write(out)
	if !res.Passed() {
		return 1
	}
	return 0
}

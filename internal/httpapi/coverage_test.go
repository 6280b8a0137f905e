package httpapi_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestMain runs the package's tests and then, on a full run (no -run filter), fails the package
// when an operation of the contract got no validated success answer from any test: every
// operationId must be exercised by an HTTP test whose responses were checked against the spec.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && fullRun() {
		if missing := testutil.UnexercisedOperations(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "--- FAIL: operation coverage: %d operations of api/openapi.yaml have no HTTP test with a validated success response:\n  %s\n",
				len(missing), strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// fullRun reports whether every test of the package ran (a -run or -skip filter picks some).
func fullRun() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}

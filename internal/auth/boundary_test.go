package auth_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestDomainPackagesStayOffHTTP holds the boundary of DESIGN.md: the HTTP layer parses requests
// and renders headers; auth and ratelimit receive values and import neither net/http nor echo.
func TestDomainPackagesStayOffHTTP(t *testing.T) {
	for _, dir := range []string{".", "../ratelimit"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			if imp == "net/http" || strings.HasPrefix(imp, "github.com/labstack/echo") || strings.HasSuffix(imp, "/gen/api") {
				t.Errorf("package %s imports %s", pkg.Name, imp)
			}
		}
	}
}

package testutil

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// edgePackages may speak HTTP as a server: the HTTP edge, the composition root, the test harness
// and the fake upstreams tests run against.
var edgePackages = map[string]bool{"httpapi": true, "app": true, "testutil": true, "llm/llmtest": true}

// serverSide are the net/http names that belong to answering requests rather than making them.
var serverSide = map[string]bool{
	"ResponseWriter": true, "Handler": true, "HandlerFunc": true, "Server": true, "ServeMux": true,
	"Flusher": true, "Hijacker": true, "Pusher": true, "ResponseController": true, "NewResponseController": true,
	"ListenAndServe": true, "ListenAndServeTLS": true, "Serve": true, "ServeTLS": true, "MaxBytesReader": true,
	"Error": true, "Redirect": true, "ServeContent": true, "ServeFile": true, "NotFound": true,
	"StripPrefix": true, "TimeoutHandler": true, "FileServer": true, "NewServeMux": true,
}

// TestDomainPackagesStayOffTheHTTPEdge enforces DESIGN.md's boundary: outside the edge packages no
// code imports echo or gen/api, uses net/http's server side, or takes an incoming *http.Request
// or a header map to fill in an exported function (auth receives parsed credentials, not a
// request; ETag and RateLimit headers are rendered by httpapi). Outbound clients
// (the LLM providers) may use net/http's client side.
func TestDomainPackagesStayOffTheHTTPEdge(t *testing.T) {
	root := filepath.Join("..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(must(filepath.Rel(root, path))))
		if edgePackages[pkg] || edgePackages[strings.Split(pkg, "/")[0]] {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, v := range boundaryViolations(f) {
			t.Errorf("%s: %s", filepath.ToSlash(path), v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// boundaryViolations lists what in f crosses the HTTP edge.
func boundaryViolations(f *ast.File) []string {
	var out []string
	httpName := ""
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		switch {
		case strings.HasPrefix(p, "github.com/labstack/echo"), p == "github.com/ccbackend/ccbackend/gen/api":
			out = append(out, "imports "+p)
		case p == "net/http":
			httpName = "http"
			if imp.Name != nil {
				httpName = imp.Name.Name
			}
		}
	}
	if httpName == "" {
		return out
	}
	isHTTP := func(e ast.Expr, names func(string) bool) (string, bool) {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			return "", false
		}
		x, ok := sel.X.(*ast.Ident)
		return sel.Sel.Name, ok && x.Name == httpName && names(sel.Sel.Name)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if name, ok := isHTTP(n, func(s string) bool { return serverSide[s] }); ok {
				out = append(out, "uses net/http's server side: http."+name)
			}
		case *ast.FuncDecl:
			if !n.Name.IsExported() {
				return true
			}
			// An http.RoundTripper's RoundTrip takes the *outgoing* request of a client
			// (MCP's header and guard wrappers): the client side, allowed.
			if n.Recv != nil && n.Name.Name == "RoundTrip" {
				return true
			}
			for _, p := range n.Type.Params.List {
				if star, ok := p.Type.(*ast.StarExpr); ok {
					if _, ok := isHTTP(star.X, func(s string) bool { return s == "Request" }); ok {
						out = append(out, n.Name.Name+" takes an incoming *http.Request")
					}
				}
				// Rendering response headers is the edge's job (ETag, RateLimit, ...).
				if _, ok := isHTTP(p.Type, func(s string) bool { return s == "Header" }); ok {
					out = append(out, n.Name.Name+" takes an http.Header to fill")
				}
			}
		}
		return true
	})
	return out
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

package httpapi_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// operation is one method+path of the contract.
type operation struct {
	method, path string
	op           *openapi3.Operation
}

func operations(doc *openapi3.T) []operation {
	var ops []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, operation{method, path, op})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	return ops
}

// isPublic reports whether the operation declares `security: []`.
func isPublic(op *openapi3.Operation) bool { return op.Security != nil && len(*op.Security) == 0 }

// requiresRole reports whether every security requirement of the operation names role as a scope.
func requiresRole(op *openapi3.Operation, role string) bool {
	if op.Security == nil || len(*op.Security) == 0 {
		return false
	}
	for _, req := range *op.Security {
		found := false
		for _, scopes := range req {
			for _, s := range scopes {
				found = found || s == role
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// concretePath fills the path parameters with values their schemas accept.
func concretePath(o operation) string {
	path := o.path
	for _, p := range o.op.Parameters {
		if p.Value.In != "path" {
			continue
		}
		v := "x"
		if s := p.Value.Schema.Value; s != nil && s.Format == "uuid" {
			v = uuid.NewString()
		}
		path = strings.ReplaceAll(path, "{"+p.Value.Name+"}", v)
	}
	return path
}

// TestGuardEveryOperation walks every operation of the contract: each one without
// `security: []` must answer an anonymous call with 401 problem+json, and each public one must
// not ask for credentials. No list of public paths exists anywhere else.
func TestGuardEveryOperation(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	doc := testutil.LoadContract(t).Doc
	if len(doc.Security) == 0 {
		t.Fatal("the contract has no global security requirement: every operation would be public")
	}
	plain := s.Register(t, "plain@example.com")
	var public, guarded, admin int
	for _, o := range operations(doc) {
		name := fmt.Sprintf("%s %s", o.method, o.path)
		t.Run(name, func(t *testing.T) {
			var body any
			if o.op.RequestBody != nil {
				body = "{}"
			}
			resp, raw := s.Do(t, o.method, concretePath(o), body, nil)
			if isPublic(o.op) {
				public++
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
					t.Errorf("public operation answered %d", resp.StatusCode)
				}
				return
			}
			guarded++
			decodeProblem(t, resp, raw, http.StatusUnauthorized)
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if requiresRole(o.op, "admin") {
				admin++
				resp, raw := s.Do(t, o.method, concretePath(o), body, plain.Bearer())
				decodeProblem(t, resp, raw, http.StatusForbidden)
			}
		})
	}
	t.Logf("%d public, %d guarded (%d admin-only) operations checked", public, guarded, admin)
	if guarded == 0 || admin == 0 {
		t.Error("no guarded or no admin operation found")
	}
	if public == 0 {
		t.Error("no public operation found; /health and /ready must be public")
	}
}

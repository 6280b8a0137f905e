package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
)

// The validator finds parameterless operations from Echo's route instead of asking the spec
// router per request; these tests hold that shortcut to what the spec router answers and show
// that security and the body are still checked on it.

func testRoutes(t testing.TB) *specRoutes {
	t.Helper()
	spec, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := newSpecRoutes(spec)
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

// routedContext is an Echo context as the router leaves it for a request it matched to the
// route echoPath.
func routedContext(req *http.Request, echoPath string) (echo.Context, *httptest.ResponseRecorder) {
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(req, rec)
	c.SetPath(echoPath)
	c.Set(routeLabelKey, echoPath)
	return c, rec
}

func TestSpecRoutesKeepWhatTheSpecRouterFinds(t *testing.T) {
	spec, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := newSpecRoutes(spec)
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"POST /v1/chat/completions", "GET /health", "GET /v1/projects", "GET /v1/debug"} {
		if routes.static[key] == nil {
			t.Errorf("%s is not found from Echo's route", key)
		}
	}
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + path
			if strings.Contains(path, "{") {
				if routes.static[key] != nil {
					t.Errorf("%s has path parameters but is kept", key)
				}
				continue
			}
			c, _ := routedContext(httptest.NewRequest(method, path, nil), path)
			got, params, err := routes.find(c)
			want, wantParams, wantErr := router.FindRoute(c.Request())
			if err != nil || wantErr != nil {
				t.Errorf("%s: find = %v, spec router = %v", key, err, wantErr)
				continue
			}
			if got.Path != want.Path || got.Method != want.Method || got.Operation != want.Operation || got.PathItem != want.PathItem ||
				got.Spec != want.Spec || len(params) != len(wantParams) {
				t.Errorf("%s: find = %s %s, spec router = %s %s", key, got.Method, got.Path, want.Method, want.Path)
			}
		}
	}
}

// A path Echo matched to a static route but spelled with escapes is not the path the route was
// kept for: the spec router decides, as before (it matches the escaped path: no operation).
func TestSpecRoutesEscapedPathGoesToTheSpecRouter(t *testing.T) {
	routes := testRoutes(t)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/%63ompletions", strings.NewReader(`{}`))
	c, _ := routedContext(req, "/v1/chat/completions")
	if _, _, err := routes.find(c); err == nil {
		t.Fatal("an escaped spelling of /v1/chat/completions was resolved from the kept route")
	}
	var he *echo.HTTPError
	err := routes.validate(c, &openapi3filter.Options{AuthenticationFunc: func(context.Context, *openapi3filter.AuthenticationInput) error { return nil }})
	if !errors.As(err, &he) || he.Code != http.StatusNotFound {
		t.Fatalf("validate = %v, want the spec router's 404", err)
	}
}

// On a kept route the operation's security is evaluated as the spec writes it (the scheme and
// its scopes reach the AuthenticationFunc, a public operation asks nothing, a refusal passes
// through) and the body is validated against its schema.
func TestSpecRoutesValidateSecurityAndBodyOnKeptRoutes(t *testing.T) {
	routes := testRoutes(t)
	const chatBody = `{"model":"claude-sonnet-4","messages":[{"role":"user","content":"hi"}]}`
	refused := &echo.HTTPError{Code: http.StatusUnauthorized}
	cases := []struct {
		name, method, path, body string
		refuse                   bool
		wantCode                 int      // 0: valid
		wantScopes               []string // the scopes the AuthenticationFunc saw; nil: never asked
	}{
		{name: "chat, accepted", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody, wantScopes: []string{}},
		{name: "chat, credentials refused", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody, refuse: true,
			wantCode: http.StatusUnauthorized, wantScopes: []string{}},
		{name: "chat, body without messages", method: http.MethodPost, path: "/v1/chat/completions",
			body: `{"model":"claude-sonnet-4"}`, wantCode: http.StatusBadRequest, wantScopes: []string{}},
		{name: "chat, max_tokens below its minimum", method: http.MethodPost, path: "/v1/chat/completions",
			body: `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, wantCode: http.StatusBadRequest, wantScopes: []string{}},
		{name: "chat, wrong content type", method: http.MethodPost, path: "/v1/chat/completions", body: "model=m",
			wantCode: http.StatusBadRequest, wantScopes: []string{}},
		{name: "admin operation names its role", method: http.MethodGet, path: "/v1/debug", wantScopes: []string{"admin"}},
		{name: "public operation asks nothing", method: http.MethodGet, path: "/health"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
				if !strings.HasPrefix(tc.body, "{") {
					req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
				}
			}
			c, _ := routedContext(req, tc.path)
			if routes.static[tc.method+" "+tc.path] == nil {
				t.Fatalf("%s %s is not a kept route", tc.method, tc.path)
			}
			var scopes []string
			err := routes.validate(c, &openapi3filter.Options{AuthenticationFunc: func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
				if echoContextOf(ctx) != c {
					t.Error("the AuthenticationFunc does not reach the request's Echo context")
				}
				scopes = append([]string{}, in.Scopes...)
				if tc.refuse {
					return refused
				}
				return nil
			}})
			code := 0
			if err != nil {
				var he *echo.HTTPError
				if !errors.As(err, &he) {
					t.Fatalf("validate = %T %v, want an *echo.HTTPError", err, err)
				}
				code = he.Code
			}
			if code != tc.wantCode {
				t.Errorf("validate = %d (%v), want %d", code, err, tc.wantCode)
			}
			if tc.refuse && err != refused {
				t.Errorf("the AuthenticationFunc's refusal did not pass through: %v", err)
			}
			if (scopes == nil) != (tc.wantScopes == nil) || !slices.Equal(scopes, tc.wantScopes) {
				t.Errorf("AuthenticationFunc saw scopes %v, want %v", scopes, tc.wantScopes)
			}
		})
	}
}

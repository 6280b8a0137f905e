package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/oasdiff/yaml"

	apispec "github.com/ccbackend/ccbackend/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// apiTime is the contract's one date-time format.
var apiTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestHealth(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, err := s.API.GetHealthWithResponse(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != http.StatusOK || resp.JSON200 == nil {
		t.Fatalf("status %d, body %s", resp.StatusCode(), resp.Body)
	}
	if resp.JSON200.Status != "ok" || resp.JSON200.Version != "test" || resp.JSON200.UptimeSeconds < 0 {
		t.Errorf("health = %+v", resp.JSON200)
	}
	var raw map[string]any
	if err := json.Unmarshal(resp.Body, &raw); err != nil {
		t.Fatal(err)
	}
	if s, _ := raw["started_at"].(string); !apiTime.MatchString(s) {
		t.Errorf("started_at = %q, want millisecond UTC RFC 3339", raw["started_at"])
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, err := s.API.GetReadyWithResponse(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != http.StatusOK || resp.JSON200 == nil {
		t.Fatalf("status %d, body %s", resp.StatusCode(), resp.Body)
	}
	if resp.JSON200.Checks.Postgres.Status != "up" || resp.JSON200.Checks.Redis.Status != "up" {
		t.Errorf("checks = %+v", resp.JSON200.Checks)
	}
}

func TestRootLinksResolve(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, err := s.API.GetRootWithResponse(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil || resp.JSON200.Name != "ccbackend" {
		t.Fatalf("status %d, body %s", resp.StatusCode(), resp.Body)
	}
	l := resp.JSON200.Links
	for _, link := range []string{l.Docs, l.OpenapiJson, l.OpenapiYaml, l.Health, l.Ready} {
		if r, _ := s.Do(t, http.MethodGet, link, nil, nil); r.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", link, r.StatusCode)
		}
	}
}

func TestOpenAPIDocumentsAreTheContract(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)

	resp, body := s.Do(t, http.MethodGet, "/openapi.yaml", nil, nil)
	if resp.StatusCode != http.StatusOK || string(body) != string(apispec.YAML) {
		t.Fatalf("GET /openapi.yaml = %d, identical to api/openapi.yaml: %t", resp.StatusCode, string(body) == string(apispec.YAML))
	}

	resp, body = s.Do(t, http.MethodGet, "/openapi.json", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d", resp.StatusCode)
	}
	wantJSON, err := yaml.YAMLToJSON(apispec.YAML)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wantJSON, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("/openapi.json differs from the parsed api/openapi.yaml (regenerate: make generate)")
	}
}

func TestDocsServeSwaggerUIFromThisServer(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, body := s.Do(t, http.MethodGet, "/docs", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	page := string(body)
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "<script>") {
		t.Error("the docs page refers to another origin or carries an inline script")
	}
	assets := regexp.MustCompile(`(?:src|href)="(/docs/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(assets) < 3 {
		t.Fatalf("docs page links %d assets, want the bundle, the css and the initializer", len(assets))
	}
	for _, m := range assets {
		r, b := s.Do(t, http.MethodGet, m[1], nil, nil)
		if r.StatusCode != http.StatusOK || len(b) == 0 {
			t.Errorf("GET %s = %d (%d bytes)", m[1], r.StatusCode, len(b))
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("CSP = %q", resp.Header.Get("Content-Security-Policy"))
	}
	for path, want := range map[string]int{
		"/docs/nope.js":     http.StatusNotFound,
		"/docs/index.html":  http.StatusNotFound, // only css, js and png are assets
		"/docs/..%2Fgo.mod": http.StatusBadRequest,
	} {
		if r, _ := s.Do(t, http.MethodGet, path, nil, nil); r.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, r.StatusCode, want)
		}
	}
}

func decodeJWTHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("jwt header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("jwt header: %v", err)
	}
	return h
}

// Swagger UI's persistAuthorization would keep the tokens typed into Authorize in localStorage,
// readable by any script on this origin long after the tab is closed.
func TestDocsInitializerKeepsTokensOutOfStorage(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, body := s.Do(t, http.MethodGet, "/docs/docs-init.js", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /docs/docs-init.js = %d", resp.StatusCode)
	}
	settings := regexp.MustCompile(`(?m)^\s*persistAuthorization:\s*(\w+)`).FindAllStringSubmatch(string(body), -1)
	if len(settings) != 1 || settings[0][1] != "false" {
		t.Errorf("persistAuthorization settings = %q, want exactly one, false", settings)
	}
}

package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	apispec "github.com/ccbackend/ccbackend/api"
	"github.com/ccbackend/ccbackend/internal/httpapi"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestUnroutableRequestsAreProblems(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	cases := []struct {
		name, method, path string
		body               any
		header             map[string]string
		status             int
		code               string
	}{
		{"unknown path", http.MethodGet, "/no/such/thing", nil, nil, http.StatusNotFound, "not_found"},
		{"unknown path with body", http.MethodPost, "/v0/x", `{"a":1}`, nil, http.StatusNotFound, "not_found"},
		{"wrong method", http.MethodDelete, "/health", nil, nil, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"metrics are not public", http.MethodGet, "/metrics", nil, nil, http.StatusNotFound, "not_found"},
		{"oversized declared body", http.MethodPost, "/health", strings.Repeat("x", 2048), nil, http.StatusRequestEntityTooLarge, "payload_too_large"},
		{"invalid path parameter", http.MethodGet, "/docs/a%20b", nil, nil, http.StatusBadRequest, "validation_failed"},
		{"oversized chunked body", http.MethodPost, "/v1/auth/login", io.MultiReader(strings.NewReader(`{"email":"`), strings.NewReader(strings.Repeat("a", 4096))), nil, http.StatusRequestEntityTooLarge, "payload_too_large"},
		{"malformed JSON", http.MethodPost, "/v1/auth/register", `{"email": "a@b.c", "password": `, nil, http.StatusBadRequest, "validation_failed"},
		{"wrong content type", http.MethodPost, "/v1/auth/register", `email=a`, map[string]string{"Content-Type": "text/plain"}, http.StatusBadRequest, "validation_failed"},
	}
	small := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.MaxBodyBytes = 1024 }))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := s
			if tc.status == http.StatusRequestEntityTooLarge {
				srv = small
			}
			resp, body := srv.Do(t, tc.method, tc.path, tc.body, tc.header)
			p := decodeProblem(t, resp, body, tc.status)
			if p.Code != tc.code || p.Type != "urn:ccbackend:problem:"+tc.code {
				t.Errorf("code %q type %q, want %q", p.Code, p.Type, tc.code)
			}
			if tc.status == http.StatusMethodNotAllowed && !strings.Contains(resp.Header.Get("Allow"), http.MethodGet) {
				t.Errorf("Allow = %q, want it to list GET", resp.Header.Get("Allow"))
			}
			if tc.name == "invalid path parameter" && (firstLocation(p) != "path" || firstPointer(p) != "asset") {
				t.Errorf("errors = %+v, want a pointer to the asset path parameter", fieldErrors(p))
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, _ := s.Do(t, http.MethodGet, "/health", nil, map[string]string{"X-Request-ID": "ios-7f3a.42:1"})
	if got := resp.Header.Get("X-Request-ID"); got != "ios-7f3a.42:1" {
		t.Errorf("well-formed client id replaced by %q", got)
	}
	for _, bad := range []string{"has space", strings.Repeat("a", 129), "<script>"} {
		resp, _ := s.Do(t, http.MethodGet, "/health", nil, map[string]string{"X-Request-ID": bad})
		if got := resp.Header.Get("X-Request-ID"); got == bad || got == "" {
			t.Errorf("malformed id %q answered with %q, want a fresh id", bad, got)
		}
	}
	a, _ := s.Do(t, http.MethodGet, "/health", nil, nil)
	b, _ := s.Do(t, http.MethodGet, "/health", nil, nil)
	if a.Header.Get("X-Request-ID") == b.Header.Get("X-Request-ID") {
		t.Error("two requests share a minted id")
	}
}

func TestSecurityHeadersAndResponseTime(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, _ := s.Do(t, http.MethodGet, "/health", nil, nil)
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	for h, v := range want {
		if got := resp.Header.Get(h); got != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
	if rt := resp.Header.Get("X-Response-Time"); !strings.HasSuffix(rt, "ms") {
		t.Errorf("X-Response-Time = %q", rt)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.CORSOrigins = append(c.CORSOrigins, "https://app.example.com")
	}))
	preflight := func(origin string) *http.Response {
		resp, _ := s.Do(t, http.MethodOptions, "/v1/anything", nil, map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type",
		})
		return resp
	}
	for _, origin := range []string{"capacitor://localhost", "ionic://localhost", "http://localhost", "https://app.example.com"} {
		resp := preflight(origin)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("preflight from %s = %d, allow-origin %q", origin, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	if resp := preflight("https://evil.example"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from an unknown origin allowed: %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, _ := s.Do(t, http.MethodGet, "/health", nil, map[string]string{"Origin": "capacitor://localhost"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "capacitor://localhost" || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Errorf("simple request CORS headers: %v", resp.Header)
	}
}

func TestGzip(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	resp, body := s.Do(t, http.MethodGet, "/openapi.json", nil, map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" || len(body) == 0 {
		t.Errorf("Content-Encoding = %q", resp.Header.Get("Content-Encoding"))
	}
}

type okPinger struct{}

func (okPinger) Ping(context.Context) error { return nil }

// panickyPinger is a dependency that panics.
type panickyPinger struct{}

func (panickyPinger) Ping(context.Context) error { panic("boom: secret detail") }

// panickyClock works once (at construction) and then panics inside the handler, as a broken
// dependency would.
func panickyClock() func() time.Time {
	calls := 0
	return func() time.Time {
		if calls++; calls > 1 {
			panic("boom: secret detail")
		}
		return time.Now()
	}
}

func routerWith(t *testing.T, meta *httpapi.MetaHandlers) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h, err := httpapi.New(httpapi.Deps{
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: httpapi.NewMetrics(reg),
		MaxBodyBytes: 1 << 20, Meta: meta,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs, reg
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return testutil.NewValidatingClient(t).Do(t, req)
}

func TestPanicIsAProblem(t *testing.T) {
	t.Parallel()
	meta, err := httpapi.NewMetaHandlers("test", panickyClock(), okPinger{}, okPinger{}, time.Second, apispec.YAML)
	if err != nil {
		t.Fatal(err)
	}
	hs, reg := routerWith(t, meta)
	resp, body := get(t, hs.URL+"/health")
	p := decodeProblem(t, resp, body, http.StatusInternalServerError)
	if p.Code != "internal_error" || strings.Contains(string(body), "boom") {
		t.Errorf("panic answered with %s", body)
	}
	// The server survives and the panic was counted under its route.
	if resp, _ := get(t, hs.URL+"/ready"); resp.StatusCode != http.StatusOK {
		t.Errorf("after a panic /ready = %d", resp.StatusCode)
	}
	if n := counterValue(t, reg, "http_requests_total", map[string]string{"route": "/health", "status": "500"}); n != 1 {
		t.Errorf("http_requests_total{route=/health,status=500} = %v, want 1", n)
	}
}

func TestReadyReportsBrokenDependency(t *testing.T) {
	t.Parallel()
	meta, err := httpapi.NewMetaHandlers("test", time.Now, okPinger{}, panickyPinger{}, time.Second, apispec.YAML)
	if err != nil {
		t.Fatal(err)
	}
	hs, _ := routerWith(t, meta)
	resp, body := get(t, hs.URL+"/ready")
	p := decodeProblem(t, resp, body, http.StatusServiceUnavailable)
	if p.Code != "dependency_unavailable" || detail(p) != "redis unavailable" {
		t.Errorf("problem = %+v", p)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

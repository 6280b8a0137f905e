package journey_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// validatingProxy stands between the JavaScript clients and the server: every answer that is not
// an event stream or a CORS preflight is checked against the contract (testutil's validating
// transport; a mismatch fails t), and it counts what the browser sent across origins.
type validatingProxy struct {
	URL string

	mu         sync.Mutex
	fromOrigin map[string]int // requests by Origin header
	preflights map[string]int // CORS preflights by Origin header
}

func newValidatingProxy(t *testing.T, target string) *validatingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport: testutil.NewValidatingClient(t).HTTP.Transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			t.Errorf("proxy: %s %s: %v", r.Method, r.URL, err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	p := &validatingProxy{fromOrigin: map[string]int{}, preflights: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			p.mu.Lock()
			p.fromOrigin[origin]++
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				p.preflights[origin]++
			}
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// seen returns how many requests and preflights came from origin.
func (p *validatingProxy) seen(origin string) (requests, preflights int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fromOrigin[origin], p.preflights[origin]
}

package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/app"
)

// stackBench is the production handler built the way `serve` builds it (JSON request log at
// INFO, here into io.Discard), on a test server's database and Redis namespace. The test server's
// own logger keeps every line in memory for assertions, which a benchmark must not pay for.
type stackBench struct {
	handler http.Handler
	auth    string // the Authorization header of a user with 50 projects
	procs   benchProcesses
}

func newStackBench(b *testing.B) stackBench {
	s, u := benchServer(b)
	for i := range 50 {
		s.Do(b, http.MethodPost, "/v1/projects", fmt.Sprintf(`{"name":"project %d"}`, i), u.Bearer())
	}
	a, err := app.New(context.Background(), s.App.Config, slog.New(slog.NewJSONHandler(io.Discard, nil)), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	return stackBench{handler: a.Handler, auth: u.Bearer()["Authorization"], procs: findBenchProcesses(b, s)}
}

// stackTargets are the requests the base HTTP stack is measured on: the cheapest operation
// (no dependency at all) and an authenticated list page.
var stackTargets = []struct {
	name, path string
	authed     bool
}{
	{"health", "/health", false},
	{"projects", "/v1/projects?limit=50", true},
}

// BenchmarkStack serves each target through the handler in-process (no network), so ns/op and
// allocs/op are the stack's own cost: middleware, routing, validation, handler, encoding.
func BenchmarkStack(b *testing.B) {
	sb := newStackBench(b)
	for _, tc := range stackTargets {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.authed {
				req.Header.Set("Authorization", sb.auth)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				sb.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s = %d: %s", tc.path, rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkStackLoad drives each target over loopback HTTP with 32 keep-alive connections for a
// bounded number of requests (b.N), and reports requests/s, the p50/p99 latency and the CPU per
// request of this process (service and load generator), PostgreSQL and Redis; the c=1 variants
// send one request at a time, for the latency of a lone request:
//
//	go test -run '^$' -bench 'StackLoad/health/c=1$' -benchtime=5000x ./internal/httpapi/
func BenchmarkStackLoad(b *testing.B) {
	sb := newStackBench(b)
	srv := httptest.NewServer(sb.handler)
	b.Cleanup(srv.Close)
	for _, tc := range stackTargets {
		for _, conns := range []int{32, 1} {
			b.Run(fmt.Sprintf("%s/c=%d", tc.name, conns), func(b *testing.B) { sb.load(b, srv.URL+tc.path, tc.authed, conns) })
		}
	}
}

func (sb stackBench) load(b *testing.B, url string, authed bool, conns int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	b.Cleanup(client.CloseIdleConnections)
	get := func() time.Duration {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if authed {
			req.Header.Set("Authorization", sb.auth)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("GET %s = %d", url, resp.StatusCode)
		}
		return time.Since(start)
	}
	for range conns {
		get() // warm connections and caches
	}
	work := make(chan struct{}, b.N)
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	var mu sync.Mutex
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	cpu := sb.procs.sample()
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			var mine []time.Duration
			for range work {
				mine = append(mine, get())
			}
			mu.Lock()
			took = append(took, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	sb.procs.report(b, cpu, sb.procs.sample())
	reportLatencies(b, took, elapsed)
}

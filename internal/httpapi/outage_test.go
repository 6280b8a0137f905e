package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// With its PostgreSQL killed under load, the service answers 503 problems with Retry-After (never
// a 500, never a hang, never the server's address), serves again once PostgreSQL is back without
// being restarted, and has kept every write it acknowledged.
func TestPostgresOutageUnderLoad(t *testing.T) {
	t.Parallel()
	pg := testutil.StartPostgres(t)
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.DatabaseURL = pg.URL }))
	// A token never checked before has no cached revocation answer: authentication itself needs
	// PostgreSQL, and its failure is a 503 too, not a 401 or 500.
	fresh := s.Register(t, "fresh@example.com")
	authNeedsPG := func() {
		resp, body := s.Do(t, http.MethodGet, "/v1/auth/profile", nil, fresh.Bearer())
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("a first request without PostgreSQL → %d, want 503: %s", resp.StatusCode, body)
			return
		}
		checkUnavailable(t, answer{header: resp.Header, raw: body}, []string{strconv.Itoa(pg.Port)})
	}
	runOutage(t, s, outage{stop: pg.Stop, start: pg.Start, during: authNeedsPG, mustRefuse: true, leaks: []string{strconv.Itoa(pg.Port)}})
}

// With its Redis shut down under load, requests that need Redis answer 503 with Retry-After and
// the rest degrade (see the README: "When PostgreSQL or Redis is down"); after Redis restarts on
// the same address, empty, the service serves again without a restart and no write is lost.
func TestRedisOutageUnderLoad(t *testing.T) {
	t.Parallel()
	rd := testutil.StartRedis(t)
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.RedisURL = rd.URL }))
	var owner testutil.Session
	needsRedis := func() {
		// Logins need Redis: their rate limit fails closed (the default policy fails open).
		resp, body := s.Do(t, http.MethodPost, "/v1/auth/login", `{"email":"load0@example.com","password":"correct horse battery staple"}`, nil)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("login without Redis → %d, want 503: %s", resp.StatusCode, body)
		} else {
			checkUnavailable(t, answer{header: resp.Header, raw: body}, []string{rd.Addr})
		}
		// Realtime tickets live in Redis: the unmapped go-redis error is an outage all the same.
		resp, body = s.Do(t, http.MethodPost, "/v1/realtime/tickets", nil, owner.Bearer())
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("realtime ticket without Redis → %d, want 503: %s", resp.StatusCode, body)
		} else {
			checkUnavailable(t, answer{header: resp.Header, raw: body}, []string{rd.Addr})
		}
	}
	owner = s.Register(t, "owner@example.com")
	runOutage(t, s, outage{stop: rd.Stop, start: rd.Start, during: needsRedis, leaks: []string{rd.Addr}})
	// With Redis back, accounts can be created (and logins made) again.
	resp, body := s.Do(t, http.MethodPost, "/v1/auth/register", `{"email":"after@example.com","password":"correct horse battery staple"}`, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("register after the Redis restart → %d %s", resp.StatusCode, body)
	}
}

type outage struct {
	stop, start func()
	mustRefuse  bool     // every request needs the dependency: the outage must show as 503s
	during      func()   // more checks while the dependency is down
	leaks       []string // text an answer must never contain (the dependency's address)
}

// loadStats counts answers by phase.
type loadStats struct {
	ok, unavailable atomic.Int64
}

// runOutage drives authenticated reads and writes from a few goroutines, takes the dependency
// away, brings it back, and checks every answer on the way.
func runOutage(t *testing.T, s *testutil.Server, o outage) {
	t.Helper()
	const workers = 4
	// A per-request timeout: a request that hangs on a dead dependency fails the test.
	s.Client.HTTP.Timeout = 20 * time.Second
	users := make([]testutil.Session, workers)
	for i := range users {
		users[i] = s.Register(t, fmt.Sprintf("load%d@example.com", i))
	}

	var (
		mu    sync.Mutex
		acked = map[string]int{} // project id → worker that saw it created
		stats [3]loadStats       // before, during, after the outage
		phase atomic.Int32
		// firstOK is when the first success after the restart arrived (UnixNano), for the log.
		firstOK atomic.Int64
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	worker := func(w int) {
		defer wg.Done()
		bearer := users[w].Bearer()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			ph := phase.Load()
			var req *http.Request
			if n%2 == 0 {
				req = s.Request(t, http.MethodPost, "/v1/projects", fmt.Sprintf(`{"name":"w%d-%d"}`, w, n), bearer)
				req.Header.Set("Idempotency-Key", uuid.NewString())
			} else {
				req = s.Request(t, http.MethodGet, "/v1/projects?limit=5", nil, bearer)
			}
			status, body, err := send(s, req)
			switch {
			case err != nil:
				t.Errorf("%s %s (phase %d): no answer: %v", req.Method, req.URL.Path, ph, err)
				return
			case status >= 200 && status < 300:
				stats[ph].ok.Add(1)
				if ph == 2 {
					firstOK.CompareAndSwap(0, time.Now().UnixNano())
				}
				if req.Method == http.MethodPost {
					var p struct {
						ID string `json:"id"`
					}
					if err := json.Unmarshal(body.raw, &p); err != nil || p.ID == "" {
						t.Errorf("created project without an id: %s", body.raw)
						continue
					}
					mu.Lock()
					acked[p.ID] = w
					mu.Unlock()
				}
			case status == http.StatusServiceUnavailable:
				stats[ph].unavailable.Add(1)
				checkUnavailable(t, body, o.leaks)
				time.Sleep(50 * time.Millisecond) // a client honouring Retry-After would wait longer
			default:
				t.Errorf("%s %s (phase %d) → %d, want 2xx or 503: %s", req.Method, req.URL.Path, ph, status, body.raw)
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	wg.Add(workers)
	for w := range workers {
		go worker(w)
	}
	t.Cleanup(func() { // a failing wait below must not leave the workers running
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	})

	waitFor(t, "load before the outage", func() bool { return stats[0].ok.Load() >= 20 })
	phase.Store(1)
	o.stop()
	if o.mustRefuse {
		waitFor(t, "503 answers during the outage", func() bool { return stats[1].unavailable.Load() >= 40 })
	} else {
		waitFor(t, "answers during the outage", func() bool { return stats[1].ok.Load()+stats[1].unavailable.Load() >= 20 })
	}
	if o.during != nil {
		o.during()
	}
	o.start()
	restarted := time.Now()
	phase.Store(2)
	waitFor(t, "successes after the restart", func() bool { return stats[2].ok.Load() >= 20 })
	close(stop)
	wg.Wait()
	t.Logf("before: %d ok; during: %d ok, %d 503; after: %d ok, %d 503; first success %v after the restart",
		stats[0].ok.Load(), stats[1].ok.Load(), stats[1].unavailable.Load(), stats[2].ok.Load(),
		stats[2].unavailable.Load(), time.Unix(0, firstOK.Load()).Sub(restarted).Round(time.Millisecond))
	if o.mustRefuse && stats[1].unavailable.Load() == 0 {
		t.Error("the outage produced no 503")
	}

	// Every acknowledged write survived.
	for id, w := range acked {
		resp, body := s.Do(t, http.MethodGet, "/v1/projects/"+id, nil, users[w].Bearer())
		if resp.StatusCode != http.StatusOK {
			t.Errorf("acknowledged project %s → %d after the outage: %s", id, resp.StatusCode, body)
		}
	}
	if len(acked) == 0 {
		t.Error("no write was acknowledged")
	}
}

type answer struct {
	header http.Header
	raw    []byte
}

func send(s *testutil.Server, req *http.Request) (int, answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	resp, err := s.Client.HTTP.Do(req.WithContext(ctx))
	if err != nil {
		return 0, answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer{header: resp.Header, raw: raw}, err
}

// checkUnavailable: a 503 says when to retry, is a problem (the validating client checked it
// against the contract) and names no host, port or SQL.
func checkUnavailable(t *testing.T, a answer, leaks []string) {
	t.Helper()
	if n, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("503 with Retry-After %q", a.header.Get("Retry-After"))
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("503 with content type %q", ct)
	}
	var p struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(a.raw, &p); err != nil || !strings.HasSuffix(p.Code, "unavailable") {
		t.Errorf("503 with code %q: %s", p.Code, a.raw)
	}
	for _, leak := range append([]string{"127.0.0.1", "dial", "SQLSTATE", "pgx", "redis:"}, leaks...) {
		if strings.Contains(string(a.raw), leak) {
			t.Errorf("503 body leaks %q: %s", leak, a.raw)
		}
	}
}

// waitFor polls cond until it holds; a minute without it fails the test (a bound on progress,
// not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

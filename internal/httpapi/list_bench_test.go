package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// benchRowsEnv overrides how many rows the list benchmarks seed. By default one user has
// 1,000,000 messages in one session and 200,000 projects; -short seeds just enough for the
// 100k-deep page.
const benchRowsEnv = "CCB_BENCH_ROWS"

const benchDepth = 100_000

func benchRows(b *testing.B, full int) int {
	n := full
	if testing.Short() {
		n = benchDepth + 10_000
	}
	if v := os.Getenv(benchRowsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < benchDepth+1_000 {
			b.Fatalf("%s=%q: want at least %d rows", benchRowsEnv, v, benchDepth+1_000)
		}
	}
	return n
}

// benchServer is the production router on its own database with one registered user. The rate
// limiter stays in the chain (its Redis round trip is part of a request's cost) but never blocks.
func benchServer(b *testing.B) (*testutil.Server, testutil.Session) {
	s := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) {
		c.RateLimitDefault = testutil.RatePolicy{Limit: 1 << 30, Period: time.Minute}
	}))
	return s, s.Register(b, "bench@example.com")
}

// benchSQL runs seeding SQL on the server's database.
func benchSQL(b *testing.B, s *testutil.Server, sql string, args ...any) {
	b.Helper()
	if _, err := s.App.Store.Pool.Exec(b.Context(), sql, args...); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
}

// benchPage fetches one page through the validating client and returns it decoded.
func benchPage(b *testing.B, s *testutil.Server, u testutil.Session, path string) (items []map[string]any, next string) {
	b.Helper()
	resp, body := s.Do(b, http.MethodGet, path, nil, u.Bearer())
	var list struct {
		Data       []map[string]any `json:"data"`
		NextCursor *string          `json:"next_cursor"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil || list.NextCursor == nil {
		b.Fatalf("GET %s = %d: %s", path, resp.StatusCode, body)
	}
	return list.Data, *list.NextCursor
}

func benchHead(items []map[string]any) map[string]any {
	if len(items) == 0 {
		return nil
	}
	return items[0]
}

// benchLatency times GET path with a plain client: the validating client's contract check would
// cost more than the request itself. Besides ns/op it reports the p50 and p99 latency of one
// request and the requests per second of this single sequential client.
func benchLatency(b *testing.B, s *testutil.Server, u testutil.Session, path string) {
	client := &http.Client{}
	auth := u.Bearer()["Authorization"]
	get := func() time.Duration {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, s.URL+path, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		took := time.Since(start)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s = %d, %v", path, resp.StatusCode, err)
		}
		return took
	}
	// Warm the connection, the prepared statements and the pages' buffers.
	for range 10 {
		get()
	}
	var took []time.Duration
	start := time.Now()
	for b.Loop() {
		took = append(took, get())
	}
	elapsed := time.Since(start)
	reportLatencies(b, took, elapsed)
}

// reportLatencies reports the nearest-rank p50 and p99 of took (sorted here) and the request
// rate over elapsed.
func reportLatencies(b *testing.B, took []time.Duration, elapsed time.Duration) {
	slices.Sort(took)
	// Nearest rank: the smallest latency at least a fraction q of the requests did not exceed.
	at := func(q float64) float64 {
		return float64(took[max(0, int(math.Ceil(q*float64(len(took))))-1)].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
	b.ReportMetric(float64(len(took))/elapsed.Seconds(), "req/s")
}

// BenchmarkListProjects pages through 200k projects newest first: the first page and the page
// 100k deep. The deep cursor is one the service issued: the projects older than the deep page go
// in first, a one-row page yields the cursor after the newest of them, and then the 100k newer
// projects are added above it. A cursor is a keyset position, so it now points 100k+1 rows deep.
func BenchmarkListProjects(b *testing.B) {
	n := benchRows(b, 200_000)
	s, u := benchServer(b)
	start := time.Now()
	seed := func(from, to int) {
		benchSQL(b, s, `INSERT INTO projects (user_id, name, description, created_at, updated_at)
			SELECT $1, 'project ' || g, 'a project seeded for the list benchmark', t, t
			FROM generate_series($2::int, $3::int) g, LATERAL (SELECT timestamptz '2026-01-01' - g * interval '1 second' AS t) x`,
			u.UserID, from, to)
	}
	seed(benchDepth+1, n)
	_, deep := benchPage(b, s, u, "/v1/projects?limit=1")
	deep = url.QueryEscape(deep)
	seed(1, benchDepth)
	benchSQL(b, s, `VACUUM (ANALYZE) projects`)
	b.Logf("seeded %d projects in %v", n, time.Since(start).Round(time.Millisecond))

	if items, _ := benchPage(b, s, u, "/v1/projects?limit=50&cursor="+deep); len(items) != 50 || benchHead(items)["name"] != fmt.Sprintf("project %d", benchDepth+2) {
		b.Fatalf("deep page = %d items from %v, want 50 from project %d", len(items), benchHead(items), benchDepth+2)
	}
	b.Run("first", func(b *testing.B) { benchLatency(b, s, u, "/v1/projects?limit=50") })
	b.Run("deep100k", func(b *testing.B) { benchLatency(b, s, u, "/v1/projects?limit=50&cursor="+deep) })
}

// BenchmarkListMessages pages through a session of 1M messages, oldest first: the first page and
// the page 100k deep. The deep cursor is the one the service returns for a one-row page that
// starts after the message 100k-1 deep (`?after=<id>`, a documented query parameter).
func BenchmarkListMessages(b *testing.B) {
	n := benchRows(b, 1_000_000)
	s, u := benchServer(b)
	resp, body := s.Do(b, http.MethodPost, "/v1/sessions", `{"title":"benchmark"}`, u.Bearer())
	var session struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &session) != nil {
		b.Fatalf("create session = %d: %s", resp.StatusCode, body)
	}
	start := time.Now()
	benchSQL(b, s, `INSERT INTO messages (session_id, user_id, seq, role, content, content_text)
		SELECT $1, $2, g, CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END, to_jsonb(txt), txt
		FROM generate_series(1, $3::int) g, LATERAL (SELECT 'message ' || g || ' ' || repeat('lorem ipsum ', 6) AS txt) x`,
		session.ID, u.UserID, n)
	benchSQL(b, s, `UPDATE sessions SET message_count = $2, last_activity_at = now() WHERE id = $1`, session.ID, n)
	benchSQL(b, s, `VACUUM (ANALYZE) messages`)
	b.Logf("seeded %d messages in %v", n, time.Since(start).Round(time.Millisecond))

	var before string
	if err := s.App.Store.Pool.QueryRow(b.Context(), `SELECT id FROM messages WHERE session_id = $1 AND seq = $2`,
		session.ID, benchDepth-1).Scan(&before); err != nil {
		b.Fatal(err)
	}
	base := "/v1/sessions/" + session.ID + "/messages?limit="
	_, deep := benchPage(b, s, u, base+"1&after="+before)
	deep = url.QueryEscape(deep)
	if items, _ := benchPage(b, s, u, base+"100&cursor="+deep); len(items) != 100 || benchHead(items)["seq"] != float64(benchDepth+1) {
		b.Fatalf("deep page = %d items from %v, want 100 from seq %d", len(items), benchHead(items), benchDepth+1)
	}
	b.Run("first", func(b *testing.B) { benchLatency(b, s, u, base+"100") })
	b.Run("deep100k", func(b *testing.B) { benchLatency(b, s, u, base+"100&cursor="+deep) })
}

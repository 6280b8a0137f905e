package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// throughputClients is the closed-loop concurrency of BenchmarkChatThroughput: 32 clients, each
// sending its next request as soon as the previous answer is read (issue 18's c=32).
const throughputClients = 32

// BenchmarkChatThroughput measures how many non-streamed chat completions per second the service
// answers with an upstream that answers at once, so that only the service's own work (auth,
// revocation, limits, the token budget, validation, the relay, usage and persistence) is timed,
// once with an access token and once with an API key (what OpenAI SDKs send). ns/op is the
// inverse of req/s. The CPU spent per request is reported for this test process (service, load
// generator and fake upstream together: getrusage), for PostgreSQL (the backends connected to the
// test database and the postmaster) and for Redis (the whole server: other users of a shared
// Redis add to it), read from /proc when they run on this machine.
//
//	scripts/bench-chat.sh -bench 'ChatThroughput' -benchtime=20000x -count=5
func BenchmarkChatThroughput(b *testing.B) {
	up := newInstantUpstream(b)
	s := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = up.URL, "sk-ant-bench"
		c.RateLimitDefault = testutil.RatePolicy{Limit: 1 << 30, Period: time.Minute}
		c.RateLimitTokens = nil        // a budget would refuse requests part-way through the run
		c.MaxConcurrentGenerations = 0 // 32 clients of one user would pass the default cap of 8
	}))
	user := s.Register(b, "chat-throughput@example.com")
	_, raw := s.Do(b, http.MethodPost, "/v1/auth/api-keys", `{"name":"throughput"}`, user.Bearer())
	var key struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(raw, &key); err != nil || key.Secret == "" {
		b.Fatalf("create API key: %s", raw)
	}
	const body = `{"model":"` + chatModel + `","max_tokens":256,"stream":false,"messages":[{"role":"user","content":"Say hello."}]}`
	procs := findBenchProcesses(b, s)
	for _, cred := range []struct{ name, auth string }{
		{"access-token", "Bearer " + user.AccessToken},
		{"api-key", "Bearer " + key.Secret},
	} {
		// One request through the validating client first: the answer the load below counts is a
		// real, contract-conforming completion with the upstream's text.
		resp, raw := s.Do(b, http.MethodPost, "/v1/chat/completions", body, map[string]string{"Authorization": cred.auth})
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), instantUpstreamText) {
			b.Fatalf("%s: POST /v1/chat/completions = %d: %s", cred.name, resp.StatusCode, raw)
		}
		b.Run(cred.name, func(b *testing.B) {
			measureThroughput(b, procs, s.URL+"/v1/chat/completions", body, cred.auth)
		})
	}
}

// closedLoop sends n requests from throughputClients clients, each waiting for its answer.
type closedLoop struct {
	url, body, auth string
	client          *http.Client
}

func (l closedLoop) run(ctx context.Context, n int) error {
	var next atomic.Int64
	errs := make([]error, throughputClients)
	var wg sync.WaitGroup
	for w := range throughputClients {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && errs[w] == nil {
				errs[w] = l.once(ctx)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (l closedLoop) once(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, strings.NewReader(l.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", l.auth)
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	// Every answer must be the completion: a 429 or 503 is not throughput.
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), instantUpstreamText) {
		return fmt.Errorf("POST %s = %d: %.300s", l.url, resp.StatusCode, raw)
	}
	return nil
}

const instantUpstreamText = "Hello from the instant upstream."

// newInstantUpstream is a Messages API fake that answers every request at once, as a JSON
// message when the request does not stream and as the whole event stream in one write when it
// does (the relay may call the upstream either way for a non-streamed client request).
func newInstantUpstream(b *testing.B) *httptest.Server {
	var events strings.Builder
	for _, ev := range llmtest.NewScript("msg_throughput", chatModel, llmtest.DefaultUsage).
		Text(instantUpstreamText).Stop("end_turn", "", 8).Events {
		fmt.Fprintf(&events, "event: %s\ndata: %s\n\n", ev.Type, ev.Data)
	}
	stream := []byte(events.String())
	message := []byte(`{"id":"msg_throughput","type":"message","role":"assistant","model":"` + chatModel +
		`","content":[{"type":"text","text":"` + instantUpstreamText + `"}],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":8}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(stream)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(message)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchProcesses are the processes whose CPU a throughput benchmark charges to its requests.
type benchProcesses struct {
	database   string // backends connected to it count as PostgreSQL's
	postmaster int    // 0: PostgreSQL is not on this machine (or not visible)
	redis      int    // 0: likewise
}

// findBenchProcesses finds the postmaster as the parent of a backend of the test database
// (pg_backend_pid) and Redis by INFO server's process_id; each only if /proc shows it.
func findBenchProcesses(b *testing.B, s *testutil.Server) benchProcesses {
	var p benchProcesses
	if u, err := url.Parse(s.App.Config.DatabaseURL); err == nil {
		p.database = strings.TrimPrefix(u.Path, "/")
	}
	ctx := b.Context()
	var backend int
	if conn, err := pgx.Connect(ctx, s.App.Config.DatabaseURL); err == nil {
		_ = conn.QueryRow(ctx, "select pg_backend_pid()").Scan(&backend)
		if st, ok := procStat(backend); ok {
			p.postmaster = st.ppid
		}
		_ = conn.Close(ctx)
	}
	if info, err := s.App.Redis.Info(ctx, "server").Result(); err == nil {
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
				if pid, _ := strconv.Atoi(v); pid > 0 {
					if _, ok := procStat(pid); ok {
						p.redis = pid
					}
				}
			}
		}
	}
	if p.postmaster == 0 || p.redis == 0 {
		b.Logf("CPU per request of PostgreSQL (postmaster %d) or Redis (pid %d) not measured: not visible in /proc", p.postmaster, p.redis)
	}
	return p
}

// cpuSample is the CPU time used so far by this process, by Redis, and by each PostgreSQL
// process of the test database (per PID: backends come and go).
type cpuSample struct {
	self, redis time.Duration
	postgres    map[int]time.Duration
}

func (p benchProcesses) sample() cpuSample {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s := cpuSample{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), postgres: map[int]time.Duration{}}
	if st, ok := procStat(p.redis); ok && p.redis > 0 {
		s.redis = st.cpu
	}
	if p.postmaster == 0 {
		return s
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := procStat(pid)
		if !ok || (pid != p.postmaster && st.ppid != p.postmaster) {
			continue
		}
		// A backend's title is "postgres: user database host(port) state"; the postmaster's
		// background processes have no database and are shared, so only the postmaster counts.
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if pid == p.postmaster || strings.Contains(string(cmd), " "+p.database+" ") {
			s.postgres[pid] = st.cpu
		}
	}
	return s
}

// report adds each process's CPU per op between two samples as a metric. PostgreSQL's is the sum
// over the processes alive at the end of what they used since the first sample (all of it if
// they are new): a backend that exited in between is not counted.
func (p benchProcesses) report(b *testing.B, a, z cpuSample) {
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(b.N) }
	self := per(z.self - a.self)
	b.ReportMetric(self, "test-process-cpu-µs/op")
	total := self
	if p.postmaster > 0 {
		var pg time.Duration
		for pid, cpu := range z.postgres {
			pg += cpu - a.postgres[pid]
		}
		b.ReportMetric(per(pg), "postgres-cpu-µs/op")
		total += per(pg)
	}
	if p.redis > 0 {
		b.ReportMetric(per(z.redis-a.redis), "redis-cpu-µs/op")
		total += per(z.redis - a.redis)
	}
	b.ReportMetric(total, "cpu-µs/op")
}

type procStatus struct {
	ppid int
	cpu  time.Duration // utime + stime
}

// procStat reads a process's parent and CPU time from /proc/<pid>/stat (fields 4, 14 and 15;
// the command name in parentheses may contain spaces, so fields count from the last ')').
func procStat(pid int) (procStatus, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil || pid <= 0 {
		return procStatus{}, false
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return procStatus{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTicks = 100 // USER_HZ, 100 on every Linux architecture Go supports
	return procStatus{ppid: ppid, cpu: time.Duration(ut+st) * time.Second / clockTicks}, true
}

// measureThroughput runs b.N POSTs of body to url over throughputClients connections, after a
// warm-up, and reports req/s and the CPU each process spent per request.
func measureThroughput(b *testing.B, procs benchProcesses, url, body, auth string) {
	b.Helper()
	load := closedLoop{url: url, body: body, auth: auth,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * throughputClients, DisableCompression: true}}}
	defer load.client.CloseIdleConnections()
	if err := load.run(b.Context(), 4*throughputClients); err != nil { // connections and pools warm
		b.Fatal(err)
	}
	cpu0 := procs.sample()
	start := time.Now()
	b.ResetTimer()
	err := load.run(b.Context(), b.N)
	b.StopTimer()
	elapsed := time.Since(start)
	cpu1 := procs.sample()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	procs.report(b, cpu0, cpu1)
}

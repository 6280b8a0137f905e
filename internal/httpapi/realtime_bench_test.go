package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// The live feed's closing-note measurements (issue 13); scripts/bench-realtime.sh runs them.
// They report numbers only and assert nothing about time.

// benchEnvInt reads a positive integer knob of the benchmarks, or def.
func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkRealtimeIdleConns holds CCB_BENCH_CONNS (default 10,000) idle WebSockets on one
// instance, spread over CCB_BENCH_USERS users, and reports the server's RSS and its CPU over 10 s
// of idleness. The clients live in a child process (this test binary re-run as
// TestRealtimeBenchDialer) so that the server process holds one descriptor per connection and
// its RSS and CPU are not the clients'. The server process is this benchmark's process: the
// numbers include the harness (test client, contract loader), which makes them an upper bound.
func BenchmarkRealtimeIdleConns(b *testing.B) {
	conns, users := benchEnvInt("CCB_BENCH_CONNS", 10000), benchEnvInt("CCB_BENCH_USERS", 100)
	perUser := (conns + users - 1) / users
	s := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) { c.Events.MaxConnsPerUser = perUser }))
	tokens, err := os.CreateTemp(b.TempDir(), "tokens")
	if err != nil {
		b.Fatal(err)
	}
	for i := range users {
		u := s.Register(b, fmt.Sprintf("idle-bench-%d@example.com", i))
		fmt.Fprintln(tokens, u.AccessToken)
	}
	_ = tokens.Close()
	runtime.GC()
	rssBefore := procStatusKB(b, "self", "VmRSS")
	for b.Loop() {
		child := exec.Command(os.Args[0], "-test.run=^TestRealtimeBenchDialer$", "-test.count=1")
		child.Env = append(os.Environ(), "CCB_BENCH_DIALER=1", "CCB_BENCH_WS_URL="+wsURL(s, ""),
			"CCB_BENCH_TOKENS="+tokens.Name(), "CCB_BENCH_CONNS="+strconv.Itoa(conns), "CCB_BENCH_PER_USER="+strconv.Itoa(perUser))
		child.Stderr = os.Stderr
		stdin, _ := child.StdinPipe()
		stdout, _ := child.StdoutPipe()
		start := time.Now()
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		ready := ""
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "READY ") {
				ready = line
				break
			}
		}
		dialled := time.Since(start)
		if ready != "READY "+strconv.Itoa(conns) {
			_ = stdin.Close()
			_ = child.Wait()
			b.Fatalf("dialer: %q, want READY %d", ready, conns)
		}
		time.Sleep(2 * time.Second) // let the connection burst settle (first auth re-checks, GC)
		cpu0, t0 := procCPUTicks(b, "self"), time.Now()
		time.Sleep(10 * time.Second)
		cpu1, t1 := procCPUTicks(b, "self"), time.Now()
		rss := procStatusKB(b, "self", "VmRSS")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		idleCPU := float64(cpu1-cpu0) / clockTicks / t1.Sub(t0).Seconds() * 100
		b.ReportMetric(float64(conns), "conns")
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		b.ReportMetric(float64(rss-rssBefore)/float64(conns), "rss-KiB/conn")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MiB")
		b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
		b.ReportMetric(idleCPU, "idle-cpu-%core")
		b.ReportMetric(dialled.Seconds(), "dial-all-s")
		b.Logf("server RSS %d KiB before, %d KiB with %d conns (VmRSS of this process); idle CPU %.1f%% of one core over %s",
			rssBefore, rss, conns, idleCPU, t1.Sub(t0).Round(time.Millisecond))
		_ = stdin.Close()
		_ = child.Wait()
	}
}

// TestRealtimeBenchDialer is BenchmarkRealtimeIdleConns's client process; without
// CCB_BENCH_DIALER it does nothing. It dials the connections, prints "READY <n>", reads (and
// drops) whatever arrives so pings are answered, and holds them until its stdin closes.
func TestRealtimeBenchDialer(t *testing.T) {
	if os.Getenv("CCB_BENCH_DIALER") == "" {
		t.Skip("the client half of BenchmarkRealtimeIdleConns")
	}
	raw, err := os.ReadFile(os.Getenv("CCB_BENCH_TOKENS"))
	if err != nil {
		t.Fatal(err)
	}
	tokens := strings.Fields(string(raw))
	conns, perUser := benchEnvInt("CCB_BENCH_CONNS", 10000), benchEnvInt("CCB_BENCH_PER_USER", 100)
	url := os.Getenv("CCB_BENCH_WS_URL")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ok, failed atomic.Int64
	var firstErr sync.Once
	work := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range work {
				h := http.Header{}
				h.Set("Authorization", "Bearer "+tokens[(i/perUser)%len(tokens)])
				dctx, dcancel := context.WithTimeout(ctx, 60*time.Second)
				c, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: h})
				dcancel()
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { fmt.Fprintf(os.Stderr, "dialer: connection %d: %v\n", i, err) })
					continue
				}
				ok.Add(1)
				go func() { // reading is what answers the server's pings
					for {
						if _, _, err := c.Read(ctx); err != nil {
							return
						}
					}
				}()
			}
		})
	}
	for i := range conns {
		work <- i
	}
	close(work)
	wg.Wait()
	fmt.Printf("READY %d\n", ok.Load())
	fmt.Fprintf(os.Stderr, "dialer: %d open, %d failed\n", ok.Load(), failed.Load())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// BenchmarkRealtimeCrossInstanceLatency publishes CCB_BENCH_RATE (default 1,000) events a second
// for CCB_BENCH_SECONDS (default 10) on instance A (Bus.Publish, as the services do) and measures
// publish→receive on a WebSocket client of instance B; the send time travels in the event's data.
func BenchmarkRealtimeCrossInstanceLatency(b *testing.B) {
	rate, seconds := benchEnvInt("CCB_BENCH_RATE", 1000), benchEnvInt("CCB_BENCH_SECONDS", 10)
	a := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) { c.Events.Buffer = 4096 }))
	twin := a.Twin(b)
	u := a.Register(b, "latency-bench@example.com")
	user := uuid.MustParse(u.UserID)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+u.AccessToken)
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		c, _, err := websocket.Dial(ctx, wsURL(twin, ""), &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(events.MaxFrameBytes)
		total := rate * seconds
		lat := make([]time.Duration, 0, total)
		done := make(chan error, 1)
		go func() {
			for len(lat) < total {
				_, msg, err := c.Read(ctx)
				if err != nil {
					done <- err
					return
				}
				now := time.Now()
				var e struct {
					Data struct {
						SentNS int64 `json:"sent_ns"`
					} `json:"data"`
				}
				if json.Unmarshal(msg, &e) == nil && e.Data.SentNS > 0 {
					lat = append(lat, now.Sub(time.Unix(0, e.Data.SentNS)))
				}
			}
			done <- nil
		}()
		time.Sleep(500 * time.Millisecond) // B's Pub/Sub subscription for the user is confirmed
		interval := time.Second / time.Duration(rate)
		ticks := make(chan int, rate)
		var pub sync.WaitGroup
		var pubErrs atomic.Int64
		for range 8 { // Publish is a Redis round trip; a few publishers keep the pace when one stalls
			pub.Go(func() {
				for i := range ticks {
					if err := a.App.Events.Publish(ctx, user, events.MessageCreated, map[string]int64{"sent_ns": time.Now().UnixNano(), "seq": int64(i)}); err != nil {
						pubErrs.Add(1)
					}
				}
			})
		}
		start := time.Now()
		for i := range total {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			ticks <- i
		}
		close(ticks)
		pub.Wait()
		sent := time.Since(start)
		select {
		case err := <-done:
			if err != nil {
				b.Fatalf("read after %d events: %v", len(lat), err)
			}
		case <-time.After(30 * time.Second):
			cancel()
			<-done
		}
		cancel()
		_ = c.CloseNow()
		if len(lat) == 0 {
			b.Fatal("no event reached instance B")
		}
		slices.Sort(lat)
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(float64(len(lat))/sent.Seconds(), "events/s")
		b.ReportMetric(float64(len(lat)), "received")
		b.ReportMetric(float64(pubErrs.Load()), "publish-errors")
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(pct(1), "max-ms")
		b.Logf("%d/%d events received on B over %s; p50 %.2f ms p99 %.2f ms max %.2f ms",
			len(lat), total, sent.Round(time.Millisecond), pct(0.5), pct(0.99), pct(1))
	}
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's utime and stime (100 on Linux).
const clockTicks = 100

// procCPUTicks is utime+stime of a process from /proc/<pid>/stat.
func procCPUTicks(b *testing.B, pid string) int64 {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st
}

// procStatusKB reads a "kB" line (VmRSS, VmHWM) of /proc/<pid>/status.
func procStatusKB(b *testing.B, pid, key string) int64 {
	raw, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	b.Fatalf("no %s in /proc/%s/status", key, pid)
	return 0
}

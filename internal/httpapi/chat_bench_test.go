package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// The upstream answer every benchmark stream gets: 20 text deltas, with a fixed gap before each
// of its 26 events so that concurrent streams overlap the way real ones do. The gap sets the
// event rate, hence the CPU the streams need: 20 ms (50 events/s a stream) is a fast model, as
// Claude streams text deltas of a few tokens at some tens of tokens a second;
// CCB_BENCH_CHAT_GAP (a Go duration) sets another.
const proxyBenchChunks = 20

func proxyBenchGap(b *testing.B) time.Duration {
	if v := os.Getenv("CCB_BENCH_CHAT_GAP"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			b.Fatalf("CCB_BENCH_CHAT_GAP=%q: want a duration such as 20ms", v)
		}
		return d
	}
	return 20 * time.Millisecond
}

// proxyUpstream is a minimal Messages API fake that serves the same stream to every request, any
// number at once (llmtest.FakeAnthropic serves a queue, one response per request, and records
// each request, which would grow with b.N).
type proxyUpstream struct {
	url    string
	events []llmtest.SSEEvent
	gap    time.Duration
	mu     sync.Mutex
	gate   chan struct{} // non-nil: new streams pause after their first text delta until it closes
	reply  []byte        // non-nil: answer everything one gap after the request (see serveReply)
	paces  sync.Map      // request tag (see streamSpec) → *upstreamPace
	conns  atomic.Int64  // connections accepted
}

// upstreamPace is when the fake received a request and when it had flushed the first text delta
// and message_stop of its answer. Event k is due k gaps after the arrival (so lateness does not
// add up over a stream), but timers still fire up to a millisecond late, independently for the
// two streams of a pair: the fake's own pacing is measured per stream so that it can be taken out
// of both sides.
type upstreamPace struct{ arrived, firstText, stop time.Time }

func newProxyUpstream(b *testing.B, words []string) *proxyUpstream {
	u := &proxyUpstream{gap: proxyBenchGap(b), events: llmtest.NewScript("msg_bench", chatModel, llmtest.DefaultUsage).
		Text(words...).Stop("end_turn", "", int64(len(words))).Events}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			u.conns.Add(1)
		}
	}
	srv.Start()
	b.Cleanup(srv.Close)
	u.url = srv.URL
	return u
}

func (u *proxyUpstream) serve(w http.ResponseWriter, r *http.Request) {
	pace := &upstreamPace{arrived: time.Now()}
	body, _ := io.ReadAll(r.Body)
	if _, rest, ok := bytes.Cut(body, []byte(tagMark)); ok {
		if tag, _, ok := bytes.Cut(rest, []byte("#")); ok {
			defer u.paces.Store(string(tag), pace) // complete once the answer is sent
		}
	}
	u.mu.Lock()
	gate := u.gate
	u.mu.Unlock()
	if u.reply != nil {
		u.serveReply(w, r, body, pace)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	flusher.Flush()
	timer := time.NewTimer(u.gap)
	defer timer.Stop()
	for i, ev := range u.events {
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		}
		timer.Reset(time.Until(pace.arrived.Add(time.Duration(i+2) * u.gap)))
		_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, ev.Data)
		flusher.Flush()
		switch {
		case ev.Type == "content_block_delta" && pace.firstText.IsZero():
			pace.firstText = time.Now()
		case ev.Type == "message_stop":
			pace.stop = time.Now()
		}
		if gate != nil && ev.Type == "content_block_delta" {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
			gate = nil
		}
	}
}

// serveReply is the upstream of the non-streamed benchmark: a model that takes one gap to
// think and then sends its whole answer at once, as one JSON message or, when the request asks
// for a stream, as all of its events in one write. Either way the answer is complete at the
// same moment, so a service that streams from the upstream for a client that does not is
// measured against the same upstream time as one that does not.
func (u *proxyUpstream) serveReply(w http.ResponseWriter, r *http.Request, body []byte, pace *upstreamPace) {
	timer := time.NewTimer(time.Until(pace.arrived.Add(u.gap)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
		return
	}
	if bytes.Contains(body, []byte(`"stream":true`)) {
		var all bytes.Buffer
		for _, ev := range u.events {
			_, _ = fmt.Fprintf(&all, "event: %s\ndata: %s\n\n", ev.Type, ev.Data)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(all.Bytes())
	} else {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(u.reply)
	}
	pace.firstText = time.Now()
	pace.stop = pace.firstText
}

// answerTime is how long the upstream takes for one answer.
func (u *proxyUpstream) answerTime() time.Duration {
	if u.reply != nil {
		return u.gap
	}
	return time.Duration(len(u.events)) * u.gap
}

// streamTimes is what one client saw, from sending the request: the arrival of the request at
// the upstream, the first text, the end of the answer (message_stop, or [DONE]: all an OpenAI
// client waits for) and the end of the response; and how long the fake itself took from the
// request's arrival to sending the first text (paceText) and message_stop (paceStop).
type streamTimes struct{ upstream, ttft, total, eof, paceText, paceStop time.Duration }

// tagMark precedes a tag unique to each stream in the prompt, so the upstream can tell when the
// very request a client sent reached it (directly or through the service).
const tagMark = "#stream-"

var streamTags atomic.Int64

// streamSpec tells how to send a request and recognise the first text and the end in its stream.
type streamSpec struct {
	url           string
	head, tail    string // the body around the prompt's tag
	header        http.Header
	isText, isEnd func(line []byte) bool
}

// read sends the request and times its stream; seen, if set, is called at the first text.
func (s streamSpec) read(ctx context.Context, client *http.Client, up *proxyUpstream, seen func()) (streamTimes, error) {
	var t streamTimes
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tag := strconv.FormatInt(streamTags.Add(1), 10)
	body := s.head + tagMark + tag + "#" + s.tail
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(body))
	if err != nil {
		return t, err
	}
	req.Header = s.header.Clone()
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return t, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return t, fmt.Errorf("POST %s = %d: %s", s.url, resp.StatusCode, body)
	}
	br := bufio.NewReaderSize(resp.Body, 16<<10)
	for t.total == 0 {
		line, err := br.ReadSlice('\n')
		if t.ttft == 0 && s.isText(line) {
			t.ttft = time.Since(start)
			if seen != nil {
				seen()
			}
		}
		if s.isEnd(line) {
			t.total = time.Since(start)
		} else if err != nil {
			return t, fmt.Errorf("POST %s: the stream ended early: %v", s.url, err)
		}
	}
	_, err = io.Copy(io.Discard, br) // to EOF, so the connection is reused
	t.eof = time.Since(start)
	if v, ok := up.paces.LoadAndDelete(tag); ok {
		pace := v.(*upstreamPace)
		t.upstream = pace.arrived.Sub(start)
		t.paceText, t.paceStop = pace.firstText.Sub(pace.arrived), pace.stop.Sub(pace.arrived)
	} else if err == nil {
		err = fmt.Errorf("POST %s: the upstream never saw stream %s", s.url, tag)
	}
	return t, err
}

func dataLine(line []byte, has string) bool {
	return bytes.HasPrefix(line, []byte("data: ")) && bytes.Contains(line, []byte(has))
}

// proxyBench is the server under test and the two ways to the same upstream answer.
type proxyBench struct {
	client          *http.Client
	direct, proxied streamSpec
	up              *proxyUpstream
	s               *testutil.Server
	words           []string
}

func newProxyBench(b *testing.B, adjust ...func(*testutil.Config)) *proxyBench {
	words := proxyBenchWords()
	return newProxyBenchOn(b, newProxyUpstream(b, words), words, adjust...)
}

// proxyBenchWords are the upstream answer's text deltas.
func proxyBenchWords() []string {
	words := make([]string, proxyBenchChunks)
	for i := range words {
		words[i] = fmt.Sprintf("word%02d ", i)
	}
	return words
}

// newProxyBenchOn starts the server under test against up; adjust (if any) changes its settings
// after the bench's own.
func newProxyBenchOn(b *testing.B, up *proxyUpstream, words []string, adjust ...func(*testutil.Config)) *proxyBench {
	s := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = up.url, "sk-ant-bench"
		c.RateLimitDefault = testutil.RatePolicy{Limit: 1 << 30, Period: time.Minute}
		c.RateLimitTokens = nil // no token budget, whatever CCB_RATE_LIMIT_TOKENS says
		// One user runs every stream: the per-user cap on running generations (8 by default)
		// would refuse most of them, so it is raised to its highest; counting them costs what it
		// costs in production.
		c.MaxConcurrentGenerations = 10000
		for _, f := range adjust {
			f(c)
		}
	}))
	user := s.Register(b, "chat-bench@example.com")
	// A plain client (the validating one would check every chunk against the contract), able to
	// keep an idle connection per stream on both ways, so neither pays for new connections.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	prompt := `[{"role":"user","content":"Count to twenty. `
	return &proxyBench{client: client, up: up, s: s, words: words,
		direct: streamSpec{
			url:    up.url + "/v1/messages",
			head:   `{"model":"` + chatModel + `","max_tokens":1024,"stream":true,"messages":` + prompt,
			tail:   `"}]}`,
			header: http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {"sk-ant-bench"}, "Anthropic-Version": {"2023-06-01"}},
			isText: func(l []byte) bool { return dataLine(l, `"content_block_delta"`) },
			isEnd:  func(l []byte) bool { return dataLine(l, `"message_stop"`) },
		},
		proxied: streamSpec{
			url:    s.URL + "/v1/chat/completions",
			head:   `{"model":"` + chatModel + `","stream":true,"messages":` + prompt,
			tail:   `"}]}`,
			header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + user.AccessToken}},
			// The first chunk only carries the role and an empty content.
			isText: func(l []byte) bool { return dataLine(l, `"content":"`) && !dataLine(l, `"content":""`) },
			isEnd:  func(l []byte) bool { return dataLine(l, "[DONE]") },
		},
	}
}

// pair runs one stream each way at the same moment, so machine noise touches both alike.
func (p *proxyBench) pair(ctx context.Context) (direct, proxied streamTimes, err error) {
	var wg sync.WaitGroup
	var derr error
	wg.Go(func() { direct, derr = p.direct.read(ctx, p.client, p.up, nil) })
	proxied, err = p.proxied.read(ctx, p.client, p.up, nil)
	wg.Wait()
	return direct, proxied, errors.Join(derr, err)
}

// checkAnswer makes sure the proxied stream carries the whole upstream answer, once.
func (p *proxyBench) checkAnswer(b *testing.B) {
	resp, raw := p.s.Do(b, http.MethodPost, "/v1/chat/completions", p.proxied.head+p.proxied.tail,
		map[string]string{"Authorization": p.proxied.header.Get("Authorization")})
	var text strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		var c struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		if data, ok := strings.CutPrefix(line, "data: {"); ok && json.Unmarshal([]byte("{"+data), &c) == nil && len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
	}
	if want := strings.Join(p.words, ""); resp.StatusCode != http.StatusOK || text.String() != want {
		b.Fatalf("proxied stream = %d %q, want %q", resp.StatusCode, text.String(), want)
	}
}

// BenchmarkChatProxy measures what the service adds to a streamed completion: every op is a
// pair of identical streams from the same fake upstream started together, one read straight
// from the fake and one through POST /v1/chat/completions, and the overhead is their difference
// in time to the first text (TTFT) and to the end of the answer. It reports the p50 and p99 of
// those differences at 1, 10 and 100 concurrent pairs, and at 100 the memory one open stream
// costs the service.
//
//	scripts/bench-chat.sh, or: go test -run '^$' -bench 'ChatProxy/streams=100$' -benchtime=3000x ./internal/httpapi/
func BenchmarkChatProxy(b *testing.B) {
	p := newProxyBench(b)
	p.checkAnswer(b)
	for _, streams := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) { p.run(b, streams) })
	}
}

// BenchmarkChatProxyBudgeted is BenchmarkChatProxy at 1 and 10 streams with a token budget on
// (too large to refuse anything), as deployments and the side-by-side harness run it, so the
// reservation's Redis work is timed too.
//
//	go test -run '^$' -bench 'ChatProxyBudgeted/streams=1$' -benchtime=150x ./internal/httpapi/
func BenchmarkChatProxyBudgeted(b *testing.B) {
	p := newProxyBench(b, func(c *testutil.Config) {
		c.RateLimitTokens = &testutil.RatePolicy{Limit: 1 << 30, Period: time.Minute}
	})
	p.checkAnswer(b)
	for _, streams := range []int{1, 10} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) { p.run(b, streams) })
	}
}

// BenchmarkChatProxyLongPrompt is BenchmarkChatProxyBudgeted at one stream with a 59 KB prompt of
// code, the size of a coding session's turn that carries its history, so the work that grows with
// the prompt (reading, validating, measuring, converting and sending it) is timed too.
//
//	go test -run '^$' -bench 'ChatProxyLongPrompt' -benchtime=150x ./internal/httpapi/
func BenchmarkChatProxyLongPrompt(b *testing.B) {
	p := newProxyBench(b, func(c *testutil.Config) {
		c.RateLimitTokens = &testutil.RatePolicy{Limit: 1 << 30, Period: time.Minute}
	})
	code := strings.Repeat(`func main() { fmt.Println(\"hello <world>\") }\n`, 1200)
	for _, spec := range []*streamSpec{&p.direct, &p.proxied} {
		spec.head = strings.Replace(spec.head, "Count to twenty. ", "Count to twenty. "+code, 1)
	}
	p.checkAnswer(b)
	b.Run("streams=1", func(b *testing.B) { p.run(b, 1) })
}

func (p *proxyBench) run(b *testing.B, streams int) {
	type sample struct{ direct, proxied streamTimes }
	// Workers start spread over spread, then each runs its next pair as soon as one ends.
	concurrently := func(n, workers int, spread time.Duration, do func(i int) error) error {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := range workers {
			wg.Go(func() {
				time.Sleep(spread * time.Duration(w) / time.Duration(workers))
				for i := int(next.Add(1)) - 1; i < n && errs[w] == nil; i = int(next.Add(1)) - 1 {
					errs[w] = do(i)
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	// Warm both connection pools, the server's prepared statements and its caches.
	if err := concurrently(streams, streams, 0, func(int) error { _, _, err := p.pair(b.Context()); return err }); err != nil {
		b.Fatal(err)
	}
	samples := make([]sample, b.N)
	b.ReportAllocs() // B/op and allocs/op: everything the process allocates for a pair, both ways and the fake included
	conns := p.up.conns.Load()
	b.ResetTimer()
	// Streams all alike and started together would stay in lockstep: every request, event and
	// end would come in bursts of `streams` at once. Starting them spread over one stream's
	// length keeps `streams` open at any moment at a steady pace instead.
	err := concurrently(b.N, streams, p.up.answerTime(), func(i int) (err error) {
		samples[i].direct, samples[i].proxied, err = p.pair(b.Context())
		return err
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	// The direct client keeps its connections, so new ones at the fake are the service's.
	b.ReportMetric(float64(p.up.conns.Load()-conns)/float64(b.N), "upstream-conns/op")
	overheads := func(of func(streamTimes) time.Duration) []time.Duration {
		d := make([]time.Duration, len(samples))
		for i, s := range samples {
			d[i] = of(s.proxied) - of(s.direct)
		}
		return d
	}
	report := func(name string, of func(streamTimes) time.Duration) {
		d := overheads(of)
		b.ReportMetric(nearestRankMicros(d, 0.50), name+"-p50-µs-overhead")
		b.ReportMetric(nearestRankMicros(d, 0.99), name+"-p99-µs-overhead")
	}
	// The overheads leave out the fake's own pacing of each stream (see upstreamPace): what
	// remains is the time between the client and the fake, through the service or not.
	report("upstream", func(t streamTimes) time.Duration { return t.upstream }) // the part before the upstream call
	report("ttft", func(t streamTimes) time.Duration { return t.ttft - t.paceText })
	report("total", func(t streamTimes) time.Duration { return t.total - t.paceStop })
	// After [DONE] the service reads the rest of the upstream body (so the connection is reused)
	// before it ends the response; clients that read to the end (openai-python does) wait for that.
	report("eof", func(t streamTimes) time.Duration { return t.eof - t.paceStop })
	rawTTFT, rawTotal := overheads(func(t streamTimes) time.Duration { return t.ttft }), overheads(func(t streamTimes) time.Duration { return t.total })
	b.Logf("with the fake's pacing left in: ttft overhead p50 %.0f µs p99 %.0f µs, total overhead p50 %.0f µs p99 %.0f µs",
		nearestRankMicros(rawTTFT, 0.5), nearestRankMicros(rawTTFT, 0.99), nearestRankMicros(rawTotal, 0.5), nearestRankMicros(rawTotal, 0.99))
	direct := make([]time.Duration, len(samples))
	for i, s := range samples {
		direct[i] = s.direct.total
	}
	b.Logf("n=%d: direct stream p50 %.0f µs, gap %v", b.N, nearestRankMicros(direct, 0.5), p.up.gap)
	if streams == 100 {
		p.reportStreamMemory(b, streams)
	}
}

// BenchmarkChatProxyNonStream is BenchmarkChatProxy for non-streamed completions at 1 and 32
// concurrent pairs: a request straight to the upstream ("stream" false) and one through POST
// /v1/chat/completions without "stream", started together, against an upstream that answers
// each request one gap after it arrived (see serveReply). Its total-p50-µs-overhead is what the
// service adds to a non-streamed reply; upstream-p50-µs-overhead the part before the upstream
// call. (ttft and eof equal total here: the answer is one body.)
//
//	scripts/bench-chat.sh -bench 'ChatProxyNonStream' -benchtime=500x
func BenchmarkChatProxyNonStream(b *testing.B) {
	words := proxyBenchWords()
	up := newProxyUpstream(b, words)
	up.reply = llmtest.Fold(up.events).Body
	p := newProxyBenchOn(b, up, words)
	last := words[len(words)-1]
	// Both ways the answer is one JSON body; it is complete once its last word arrived.
	complete := func(l []byte) bool { return bytes.Contains(l, []byte(last)) }
	p.direct.head = strings.Replace(p.direct.head, `"stream":true,`, ``, 1)
	p.proxied.head = strings.Replace(p.proxied.head, `"stream":true,`, ``, 1)
	p.direct.isText, p.direct.isEnd, p.proxied.isText, p.proxied.isEnd = complete, complete, complete, complete
	resp, raw := p.s.Do(b, http.MethodPost, "/v1/chat/completions", p.proxied.head+p.proxied.tail,
		map[string]string{"Authorization": p.proxied.header.Get("Authorization")})
	var c struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.Unmarshal(raw, &c); err != nil || resp.StatusCode != http.StatusOK || len(c.Choices) != 1 || c.Choices[0].Message.Content != strings.Join(words, "") {
		b.Fatalf("proxied reply = %d %s", resp.StatusCode, raw)
	}
	for _, conc := range []int{1, 32} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) { p.run(b, conc) })
	}
}

// reportStreamMemory opens n streams each way while the upstream holds them after their first
// text delta, and compares the live memory (heap in use plus goroutine stacks, after a GC) with
// all of them open to the memory before. The fake and the client are in this process too, so
// the service's share per open stream is the growth per proxied stream minus the growth per
// direct one (B/open-stream): the request state of the server's side of the client's connection
// (the client's idle keep-alive connections exist before, as in steady use), the service's own
// upstream connection, the goroutines serving both and the generation's state.
func (p *proxyBench) reportStreamMemory(b *testing.B, n int) {
	type growth struct{ heap, stacks, goroutines float64 }
	perStream := func(way streamSpec) growth {
		gate := make(chan struct{})
		p.up.mu.Lock()
		p.up.gate = gate
		p.up.mu.Unlock()
		heap0, stacks0 := liveMemory()
		g0 := runtime.NumGoroutine()
		var open, done sync.WaitGroup
		open.Add(n)
		errs := make([]error, n)
		for i := range n {
			done.Go(func() {
				var once sync.Once
				_, errs[i] = way.read(b.Context(), p.client, p.up, func() { once.Do(open.Done) })
				once.Do(open.Done)
			})
		}
		open.Wait()
		heap1, stacks1 := liveMemory()
		g1 := runtime.NumGoroutine()
		p.up.mu.Lock()
		p.up.gate = nil
		p.up.mu.Unlock()
		close(gate)
		done.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		per := func(d int64) float64 { return float64(d) / float64(n) }
		return growth{per(heap1 - heap0), per(stacks1 - stacks0), per(int64(g1 - g0))}
	}
	direct, proxied := perStream(p.direct), perStream(p.proxied)
	b.ReportMetric(proxied.heap+proxied.stacks-direct.heap-direct.stacks, "B/open-stream")
	b.Logf("per open stream: direct %.0f B heap + %.0f B stacks, %.1f goroutines; through the service %.0f B heap + %.0f B stacks, %.1f goroutines",
		direct.heap, direct.stacks, direct.goroutines, proxied.heap, proxied.stacks, proxied.goroutines)
}

// liveMemory is the heap and the goroutine stacks in use. It collects twice: the first
// collection only moves sync.Pool contents aside, the second frees them, so pooled buffers left
// by earlier streams do not count.
func liveMemory() (heap, stacks int64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse), int64(m.StackInuse)
}

// nearestRankMicros is the smallest value at least a fraction q of d does not exceed, in µs.
func nearestRankMicros(d []time.Duration, q float64) float64 {
	d = slices.Clone(d)
	slices.Sort(d)
	return float64(d[max(0, int(math.Ceil(q*float64(len(d))))-1)].Nanoseconds()) / 1e3
}

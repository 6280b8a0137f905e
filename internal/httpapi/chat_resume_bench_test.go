package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkChatResumeReplay2000 records a 2,000-event stream on instance A and replays it whole
// on instance B over HTTP, reporting the time to the first replayed byte (authentication, owner
// check, first read) and to the end ([DONE]).
func BenchmarkChatResumeReplay2000(b *testing.B) {
	fake := llmtest.NewFakeAnthropic(b)
	s := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) { c.AnthropicBaseURL, c.AnthropicAPIKey = fake.URL, "k" }))
	u := s.Register(b, "resume-bench@example.com")
	fake.Enqueue(llmtest.TextStream("msg_bench", chatModel, strings.Split(strings.TrimSpace(strings.Repeat("word ", 1997)), " ")...))
	resp, raw := s.Do(b, http.MethodPost, "/v1/chat/completions", `{"model":"`+chatModel+`","stream":true,"messages":[{"role":"user","content":"x"}]}`, u.Bearer())
	gid := resp.Header.Get("X-Generation-ID")
	if events := strings.Count(string(raw), "\nid: ") + 1; resp.StatusCode != http.StatusOK || events != 2000 {
		b.Fatalf("recorded stream %d with %d events", resp.StatusCode, events)
	}
	twin := s.Twin(b)
	var first, total time.Duration
	buf := make([]byte, 64<<10)
	for b.Loop() {
		req := twin.Request(b, http.MethodGet, "/v1/chat/completions/"+gid+"/stream", nil, u.Bearer())
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var got []byte
		for {
			n, err := resp.Body.Read(buf)
			if len(got) == 0 && n > 0 {
				first += time.Since(start)
			}
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		total += time.Since(start)
		_ = resp.Body.Close()
		if string(got) != string(raw) {
			b.Fatalf("the replay differs from the stream (%d bytes, want %d)", len(got), len(raw))
		}
	}
	b.ReportMetric(float64(first.Microseconds())/float64(b.N), "µs-to-first-byte")
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-to-end")
}
